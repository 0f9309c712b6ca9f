import ChorusRing

extension ShardHost {
    /// The shared log on disk deletes segments by prefix only, below the oldest live entry of
    /// any group (`CompactionReport.pinnedBy`). A group that never reaches `snapshotEvery` or
    /// `snapshotEveryBytes` — an idle shard beside a busy queue shard — would keep every
    /// segment written after its first entry. The driver asks for that group's local snapshot
    /// once the log has grown past a few segments; it is taken now (if the group applied
    /// anything since its last one) and persisted with the next `ready()`, so a later
    /// compaction can delete past it. Only between `advance(_:)` and the next `ready()`.
    /// Returns whether a snapshot was taken.
    @discardableResult
    public mutating func snapshotPinningGroup(_ shard: ShardID) -> Bool {
        guard !readyOutstanding, var r = replicas.removeValue(forKey: shard) else { return false }
        defer { replicas[shard] = r }
        guard r.node.log.applied > r.node.log.snapshotIndex, !r.node.log.snapshotPending else { return false }
        let taken = counters.snapshotsTaken
        takeLocalSnapshot(of: &r, shard: shard)
        return counters.snapshotsTaken > taken
    }
}
