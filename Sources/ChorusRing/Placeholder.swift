// Placeholder: the consistent-hash ring lands here.
public enum RingPlaceholder {}
