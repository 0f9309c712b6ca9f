import Glibc

/// The readiness bits poll(2) reports for a descriptor, and the interest a handler asks for.
/// Invariant: the raw value is exactly poll's `short` bit mask, so no translation can drop a bit.
public struct PollEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Data (or a connection, or EOF) can be read without blocking.
    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    /// A write of at least one byte would not block.
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    /// The descriptor has a pending error (reported without being asked for).
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    /// The peer hung up (reported without being asked for).
    public static let hangup = PollEvents(rawValue: Int16(POLLHUP))
    /// The descriptor is not open (reported without being asked for): a bug in the owner.
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))

    public var description: String {
        var parts: [String] = []
        if contains(.readable) { parts.append("readable") }
        if contains(.writable) { parts.append("writable") }
        if contains(.error) { parts.append("error") }
        if contains(.hangup) { parts.append("hangup") }
        if contains(.invalid) { parts.append("invalid") }
        return "[" + parts.joined(separator: ",") + "]"
    }
}
