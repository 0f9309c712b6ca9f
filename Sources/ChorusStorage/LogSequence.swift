/// The position of a record in a node's shared log. Records are numbered 1, 2, 3, ... in
/// append order across all groups and segments; a segment file is named by the sequence of
/// its first record. Invariant: sequences in the log are dense and strictly increasing, so
/// "durable up to S" means every record numbered ≤ S is on disk.
public struct LogSequence: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value }

    /// Before the first record.
    public static let zero = LogSequence(0)

    @inlinable public static func < (a: LogSequence, b: LogSequence) -> Bool { a.value < b.value }
    public var description: String { "#\(value)" }
}
