/// The identity of one member of a Raft group.
///
/// Invariant: `value != 0`. Zero is kept for "nobody" in encodings (a hard state without a
/// vote), so the type can never mean "nobody" by accident; use `NodeID?` for that.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt64

    @inlinable public init(_ value: UInt64) {
        precondition(value != 0, "NodeID 0 is reserved for nobody")
        self.value = value
    }

    /// The id for `value`, or nil for 0 (as read from the wire or from storage).
    @inlinable public init?(encoded value: UInt64) {
        guard value != 0 else { return nil }
        self.value = value
    }

    @inlinable public static func < (a: NodeID, b: NodeID) -> Bool { a.value < b.value }
    public var description: String { "n\(value)" }
}
