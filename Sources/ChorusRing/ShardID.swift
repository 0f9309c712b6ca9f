/// The number of a shard, `0..<shardCount`. A typed id so a shard number is never mixed up
/// with a member index, a Raft term or a log index.
///
/// Invariant: `value < shardCount` of the `ShardMap` that produced it.
public struct ShardID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    @inlinable public init(_ value: UInt32) { self.value = value }
    @inlinable public init(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "shard number out of range: \(value)")
        self.value = UInt32(value)
    }

    @inlinable public var index: Int { Int(value) }
    @inlinable public static func < (a: ShardID, b: ShardID) -> Bool { a.value < b.value }
    public var description: String { String(value) }
}
