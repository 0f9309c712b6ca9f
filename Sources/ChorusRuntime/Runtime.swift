// Placeholder: the socket runtime lands here.
public enum RuntimePlaceholder {}
