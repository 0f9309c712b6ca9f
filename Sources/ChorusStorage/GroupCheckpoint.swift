/// A group's state at the start of a segment, written as that segment's first records so that
/// the segment can become the oldest one left after compaction: recovery starting there learns
/// each group's last index, snapshot mark and hard state without the deleted segments.
/// Invariant: `lastIndex >= snapshot.index`; in a segment that follows others, every
/// checkpoint must equal what replaying those others produced (recovery checks this).
public struct GroupCheckpoint: Hashable, Sendable {
    public var group: UInt64
    public var lastIndex: UInt64
    public var snapshot: SnapshotMark
    public var hardState: HardState?

    public init(group: UInt64, lastIndex: UInt64, snapshot: SnapshotMark, hardState: HardState?) {
        self.group = group; self.lastIndex = lastIndex; self.snapshot = snapshot; self.hardState = hardState
    }
}
