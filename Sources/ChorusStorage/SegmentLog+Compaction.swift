/// Deleting segments that snapshots have made unnecessary.
extension SegmentLog {
    /// Deletes the oldest segments while none of them holds a live entry (one not covered by
    /// its group's snapshot mark, not truncated away, not of a removed group), never the active
    /// segment. Deletion is by prefix only: the oldest retained segment opens with checkpoints
    /// of every group, from which recovery restarts.
    ///
    /// Order: `sync()` first (the marks that free segments must be durable before the entries
    /// they cover disappear), then each file is unlinked oldest first with the directory
    /// fsynced after each, so a crash leaves a shorter prefix missing, never a hole.
    @discardableResult
    public func compact() throws(StorageError) -> CompactionReport {
        try checkUsable()
        try sync()
        var report = CompactionReport()
        let oldest = table.oldestLiveSegment()
        report.pinnedBy = oldest?.group
        let limit = min(oldest?.segment ?? UInt64.max, active.firstSequence)
        while segments.count > 1, segments[0].firstSequence < limit {
            let victim = segments[0]
            try fileSystem.removeFile(at: path(victim.name))
            victim.file?.close()
            segments.removeFirst()
            do throws(StorageError) {
                try fileSystem.syncDirectory(at: directory)
            } catch {
                failure = .failed(reason: "compaction: \(error)")
                throw error
            }
            statistics.directorySyncs += 1
            statistics.segmentsDeleted += 1
            report.deletedSegments.append(victim.name)
        }
        report.retainedSegments = segments.count
        return report
    }
}
