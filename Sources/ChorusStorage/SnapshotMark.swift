/// The index and term of the last entry a group's snapshot covers. Entries at or below
/// `index` are compacted: the log no longer serves them and may delete the segments that hold
/// them. Invariant: a group's mark only moves forward; `term` is the term of entry `index`
/// (the Raft core's word; storage does not check it against a retained entry).
public struct SnapshotMark: Hashable, Sendable, CustomStringConvertible {
    public var index: UInt64
    public var term: UInt64

    @inlinable public init(index: UInt64, term: UInt64) { self.index = index; self.term = term }

    /// No snapshot: nothing compacted.
    public static let zero = SnapshotMark(index: 0, term: 0)
    public var description: String { "\(index)@\(term)" }
}
