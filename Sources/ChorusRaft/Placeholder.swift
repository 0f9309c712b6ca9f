// Placeholder: the Raft core lands here.
public enum RaftPlaceholder {}
