/// A group's state machine image at `index` (whose entry had `term`). `data` is opaque to
/// storage: the Raft core puts the state machine's bytes and its membership in it.
/// Invariant: a stored snapshot's `index` never goes backwards for a group (`SnapshotStore`
/// refuses an older one), so it always covers the group's durable snapshot mark in the log.
public struct Snapshot: Hashable, Sendable {
    public var group: UInt64
    public var index: UInt64
    public var term: UInt64
    public var data: [UInt8]

    public init(group: UInt64, index: UInt64, term: UInt64, data: [UInt8]) {
        self.group = group; self.index = index; self.term = term; self.data = data
    }

    public var mark: SnapshotMark { SnapshotMark(index: index, term: term) }
}
