import ChorusWire

/// The node's write-ahead log, shared by all its Raft groups: append-only segment files of
/// CRC-32C framed records, one group commit (`sync`) making everything appended so far durable
/// with one write and one fsync, an in-memory index (group → index → record location) rebuilt
/// on open, and prefix compaction once snapshots cover old segments.
///
/// How a driver uses it (the Raft core's "persist before acknowledging", see docs/storage.md):
/// for each ready group, `append` its new entries and `setHardState`; then call `sync()` once;
/// only after it returns send the messages and acknowledgements that depend on that state.
///
/// Invariants:
/// - Records are numbered densely in append order (`LogSequence`); after `sync()` returns S,
///   every record ≤ S survives any crash, and recovery replays records in exactly that order.
/// - A group's live entries are `firstIndex(group:) ... lastIndex(group:)` with no gaps;
///   appending at an index ≤ the last index first records a truncation of the suffix.
/// - After a failed write or fsync the log refuses all further work (`StorageError.failed`).
/// - Not thread-safe: one event loop owns it.
public final class SegmentLog {
    public let directory: String
    public let settings: SegmentLogSettings
    /// What opening the log found and repaired.
    public let recovery: RecoveryReport
    public internal(set) var statistics: SegmentLogStatistics
    /// Every record up to here is on disk.
    public private(set) var durableSequence: LogSequence

    let fileSystem: any FileSystem
    var segments: [Segment]
    var table: GroupTable
    var nextSequence: UInt64
    var failure: StorageError?

    /// Opens (creating if needed) the log in `directory` and recovers it. Throws
    /// `corruptSegment` or `missingRecords` when the log cannot be trusted: the node must then
    /// refuse to start.
    public init(directory: String, settings: SegmentLogSettings = SegmentLogSettings(),
                fileSystem: any FileSystem = PosixFileSystem()) throws(StorageError) {
        try settings.validate()
        var recovery = LogRecovery(directory: directory, settings: settings, fileSystem: fileSystem)
        try recovery.run()
        self.directory = directory
        self.settings = settings
        self.fileSystem = fileSystem
        self.recovery = recovery.report
        self.statistics = recovery.statistics
        self.segments = recovery.segments
        self.table = recovery.table
        self.nextSequence = recovery.nextSequence
        self.durableSequence = LogSequence(recovery.nextSequence - 1)
        if segments.isEmpty {
            let first = Segment(firstSequence: nextSequence, checkpointCount: 0, file: nil, durableBytes: 0, recordCount: 0)
            SegmentHeader(firstSequence: nextSequence, checkpointCount: 0).encode(into: &first.pending)
            segments.append(first)
            try sync()
        }
    }

    deinit { close() }

    /// Closes the segment files. Records appended since the last `sync()` are not written.
    public func close() {
        for s in segments { s.file?.close() }
        if failure == nil { failure = .closed }
    }

    // MARK: - Appending (buffered until `sync`)

    /// Buffers Raft entry `index` of `group`. `index` must be above the group's snapshot mark
    /// and at most its last index + 1; at or below the last index, the suffix from `index` is
    /// truncated first (a Raft log conflict) and the truncation is logged as its own record.
    /// Returns the entry record's sequence; it is durable once `sync()` returns at least that.
    @discardableResult
    public func append(group: UInt64, index: UInt64, term: UInt64, payload: [UInt8]) throws(StorageError) -> LogSequence {
        try checkUsable()
        let record = Record.entry(group: group, index: index, term: term, payload: payload)
        try checkSize(record)
        let g = table.bounds(of: group)
        guard index > g.snapshot else {
            throw .invalidAppend(group: group, index: index, reason: "at or below the snapshot mark \(g.snapshot)")
        }
        guard index <= g.last + 1 else {
            throw .invalidAppend(group: group, index: index, reason: "gap after last index \(g.last)")
        }
        if index <= g.last { try write(.truncation(group: group, fromIndex: index)) }
        return try write(record)
    }

    /// Buffers the removal of `group`'s entries `from...`. Nothing happens when `from` is past
    /// the last index; `from` at or below the snapshot mark is refused.
    public func truncate(group: UInt64, from: UInt64) throws(StorageError) {
        try checkUsable()
        let g = table.bounds(of: group)
        guard g.known, from <= g.last else { return }
        guard from > g.snapshot else {
            throw .invalidAppend(group: group, index: from, reason: "truncation reaches the snapshot mark \(g.snapshot)")
        }
        try write(.truncation(group: group, fromIndex: from))
    }

    /// Buffers `group`'s hard state. Setting the same value again writes nothing.
    public func setHardState(_ hardState: HardState, group: UInt64) throws(StorageError) {
        try checkUsable()
        guard table[group]?.hardState != hardState else { return }
        try write(.hardState(group: group, hardState))
    }

    /// Buffers a snapshot mark: entries of `group` up to `index` are covered by a snapshot and
    /// are no longer served; once the mark is durable, `compact()` may delete their segments.
    /// A mark at or below the current one is ignored. A mark past the last index empties the
    /// group's log (a snapshot installed from the leader); a Raft core that finds a conflicting
    /// entry at `index` truncates first.
    ///
    /// Write the snapshot itself (`SnapshotStore.save`) before calling this: then a durable
    /// mark always has its snapshot on disk.
    public func markSnapshot(group: UInt64, index: UInt64, term: UInt64) throws(StorageError) {
        try checkUsable()
        guard index > table[group]?.snapshot.index ?? 0 else { return }
        try write(.snapshotMark(group: group, SnapshotMark(index: index, term: term)))
    }

    /// Buffers the removal of `group` with all its entries, hard state and mark. Removing an
    /// unknown group writes nothing. The group id may be used again afterwards, from index 1.
    public func removeGroup(_ group: UInt64) throws(StorageError) {
        try checkUsable()
        guard table[group] != nil else { return }
        try write(.groupRemoval(group: group))
    }

    // MARK: - Group commit

    /// Whether records were appended since the last `sync()`.
    public var hasUnsyncedRecords: Bool { durableSequence.value + 1 < nextSequence }

    /// The sequence of the last record appended (durable or not).
    public var appendedSequence: LogSequence { LogSequence(nextSequence - 1) }

    /// Group commit: writes every record appended since the last sync with one write and one
    /// fsync of the active segment, and returns the durable sequence. When records rolled into
    /// new segments, the older segment is fsynced first and each new file is fsynced and then
    /// its directory entry. With nothing pending it does nothing.
    @discardableResult
    public func sync() throws(StorageError) -> LogSequence {
        try checkUsable()
        var first = segments.count - 1
        while first > 0 && segments[first - 1].hasPending { first -= 1 }
        guard first >= 0, segments[first].hasPending else { return durableSequence }
        do throws(StorageError) {
            for s in segments[first...] {
                let created: Bool
                let file: any StorageFile
                if let existing = s.file {
                    file = existing
                    created = false
                } else {
                    file = try fileSystem.openFile(at: path(s.name), mode: .createNew)
                    s.file = file
                    created = true
                    statistics.segmentsCreated += 1
                }
                let bytes = s.takePending()
                try file.write(bytes, at: s.durableBytes)
                try file.sync()
                statistics.fileSyncs += 1
                statistics.bytesWritten += bytes.count
                s.durableBytes += bytes.count
                if created {
                    // Before the next file is created: a crash must never leave a later
                    // segment's name on disk without an earlier one's.
                    try fileSystem.syncDirectory(at: directory)
                    statistics.directorySyncs += 1
                }
            }
        } catch {
            failure = .failed(reason: "sync: \(error)")
            throw error
        }
        durableSequence = LogSequence(nextSequence - 1)
        statistics.syncs += 1
        return durableSequence
    }

    // MARK: - Internals

    func path(_ name: String) -> String { directory + "/" + name }

    var active: Segment { segments[segments.count - 1] }

    func checkUsable() throws(StorageError) {
        if let failure { throw failure }
    }

    private func checkSize(_ record: Record) throws(StorageError) {
        let body = RecordFrame.frameBytes(of: record) - RecordFrame.headerBytes
        guard body <= settings.maxRecordBytes else { throw .recordTooLarge(bytes: body, limit: settings.maxRecordBytes) }
    }

    /// Applies `record` to the index and buffers it in the active segment.
    @discardableResult
    private func write(_ record: Record) throws(StorageError) -> LogSequence {
        try checkSize(record)
        let frameBytes = RecordFrame.frameBytes(of: record)
        rollIfNeeded(adding: frameBytes)
        let segment = active
        do throws(GroupTable.Violation) {
            try table.apply(record, at: (segment.firstSequence, segment.size, frameBytes))
        } catch {
            throw .invalidAppend(group: record.group, index: record.highestIndex ?? 0, reason: error.reason)
        }
        RecordFrame.append(record, sequence: nextSequence, to: &segment.pending)
        segment.recordCount += 1
        statistics.appendedRecords += 1
        nextSequence += 1
        return LogSequence(nextSequence - 1)
    }

    /// Starts a new segment when `frameBytes` more would pass `segmentBytes`. The new segment
    /// opens with a checkpoint of every group, so it can be the oldest segment after compaction.
    /// A segment holding only its checkpoints never rolls, so a record larger than a segment
    /// still finds a home.
    private func rollIfNeeded(adding frameBytes: Int) {
        let current = active
        guard current.recordCount > current.checkpointCount, current.size + frameBytes > settings.segmentBytes else { return }
        let checkpoints = table.checkpoints()
        let next = Segment(firstSequence: nextSequence, checkpointCount: checkpoints.count, file: nil, durableBytes: 0, recordCount: 0)
        SegmentHeader(firstSequence: nextSequence, checkpointCount: UInt32(clamping: checkpoints.count)).encode(into: &next.pending)
        for c in checkpoints {
            RecordFrame.append(.checkpoint(c), sequence: nextSequence, to: &next.pending)
            next.recordCount += 1
            nextSequence += 1
        }
        segments.append(next)
    }
}
