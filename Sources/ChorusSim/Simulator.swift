// Placeholder: the discrete-event simulator lands here.
public enum SimPlaceholder {}
