// Placeholder: the SWIM state machine lands here.
public enum MembershipPlaceholder {}
