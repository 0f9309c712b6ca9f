/// The position of an entry in a Raft log; index 1 is the first entry, 0 means "before the log".
///
/// Invariant: every index a node accepts is below `LogIndex.limit` (2^62), so index arithmetic
/// on values read from the wire cannot overflow; subtracting below zero is a programmer error.
public struct LogIndex: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value }

    public static let zero = LogIndex(0)
    /// Indices at or above this are refused as malformed.
    public static let limit: UInt64 = 1 << 62

    @inlinable public static func < (a: LogIndex, b: LogIndex) -> Bool { a.value < b.value }
    @inlinable public static func + (a: LogIndex, n: Int) -> LogIndex {
        precondition(n >= 0, "LogIndex + negative")
        return LogIndex(a.value + UInt64(n))
    }
    @inlinable public static func - (a: LogIndex, n: Int) -> LogIndex {
        precondition(n >= 0 && a.value >= UInt64(n), "LogIndex below zero")
        return LogIndex(a.value - UInt64(n))
    }
    /// The number of positions from `b` up to `a` (`a >= b`).
    @inlinable public static func - (a: LogIndex, b: LogIndex) -> Int {
        precondition(a >= b, "LogIndex distance below zero")
        return Int(a.value - b.value)
    }
    public var description: String { "\(value)" }
}
