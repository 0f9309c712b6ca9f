/// A Raft term: the logical clock that numbers elections (Raft §5.1).
///
/// Invariant: a node's current term never decreases, and every term a node accepts is below
/// `Term.limit`, so `next` and comparisons on terms read from the wire cannot overflow.
public struct Term: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value }

    public static let zero = Term(0)
    /// Terms at or above this are refused as malformed (2^62: unreachable by elections).
    public static let limit: UInt64 = 1 << 62

    /// The term after this one.
    @inlinable public var next: Term { Term(value + 1) }

    @inlinable public static func < (a: Term, b: Term) -> Bool { a.value < b.value }
    public var description: String { "\(value)" }
}
