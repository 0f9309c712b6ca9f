// Placeholder: the segment log lands here.
public enum StoragePlaceholder {}
