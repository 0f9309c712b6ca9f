/// Rebuilds a `SegmentLog`'s state from its directory: scans the segments in sequence order,
/// replays their records into a `GroupTable`, and repairs only a torn tail.
///
/// Rules (docs/storage.md, "Recovery"):
/// - Damage (short read, bad length, bad CRC, zeroed bytes) at the end of the LAST segment with
///   no valid record after it is a torn write: the file is cut back to the last good record and
///   fsynced, and the cut is reported.
/// - Damage anywhere else — in an earlier segment, or followed by a valid record — is
///   `corruptSegment`: the node must not start and silently lose committed entries.
/// - A checksum-valid record that breaks the format or the log's rules, a sequence gap, or a
///   file name that disagrees with its header is `corruptSegment` too.
/// - A last segment whose header or opening checkpoints are torn is removed (its roll never
///   completed), unless it is the only segment left and not the first ever.
/// Invariant: records are applied exactly in sequence order; none is skipped, moved or made up.
struct LogRecovery {
    let directory: String
    let settings: SegmentLogSettings
    let fileSystem: any FileSystem

    var report = RecoveryReport()
    var table = GroupTable()
    var segments: [Segment] = []
    var nextSequence: UInt64 = 1
    var statistics = SegmentLogStatistics()

    init(directory: String, settings: SegmentLogSettings, fileSystem: any FileSystem) {
        self.directory = directory; self.settings = settings; self.fileSystem = fileSystem
    }

    /// Segment sequences at or above this are refused, so sequence arithmetic cannot overflow.
    static let sequenceLimit: UInt64 = 1 << 62

    func path(_ name: String) -> String { directory + "/" + name }

    mutating func run() throws(StorageError) {
        try createDurableDirectory(directory, in: fileSystem)
        let found = try fileSystem.listDirectory(at: directory)
            .compactMap { name in SegmentName.parse(name).map { (sequence: $0, name: name) } }
            .sorted { $0.sequence < $1.sequence }
        for (i, segment) in found.enumerated() {
            try recover(segment.name, sequence: segment.sequence, isLast: i == found.count - 1)
        }
        if let missing = table.firstMissing() {
            throw .missingRecords(group: missing.group, from: missing.from, through: missing.through)
        }
        report.groups = table.count
    }

    private mutating func recover(_ name: String, sequence: UInt64, isLast: Bool) throws(StorageError) {
        let file = try fileSystem.openFile(at: path(name), mode: .existing)
        var keep = false
        defer { if !keep { file.close() } }
        let size = try file.size()
        let bytes = try file.read(at: 0, count: size)
        guard bytes.count == size else { throw .corruptSegment(file: name, offset: bytes.count, reason: "file shorter than its size") }
        report.segmentsScanned += 1
        let isFirst = segments.isEmpty
        guard sequence < LogRecovery.sequenceLimit else {
            throw .corruptSegment(file: name, offset: 0, reason: "first sequence \(sequence) beyond the limit \(LogRecovery.sequenceLimit)")
        }

        let header: SegmentHeader
        switch SegmentHeader.decode(bytes) {
        case let .failure(error):
            let validAfter = RecordFrame.validFrameExists(in: bytes, after: 0, sequences: sequence...UInt64.max,
                                                         maxRecordBytes: settings.maxRecordBytes)
            guard isLast, !validAfter, !isFirst || sequence == 1 else {
                throw .corruptSegment(file: name, offset: 0, reason: "bad header: \(error.reason)")
            }
            try removeTorn(name, file: file, reason: "torn header: \(error.reason)")
            return
        case let .success(h):
            header = h
        }
        guard header.firstSequence == sequence else {
            throw .corruptSegment(file: name, offset: 8, reason: "header says first sequence \(header.firstSequence), name says \(sequence)")
        }
        if isFirst {
            nextSequence = sequence
        } else if sequence != nextSequence {
            throw .corruptSegment(file: name, offset: 0, reason: "sequence gap: previous segment ends before \(nextSequence), this one starts at \(sequence)")
        }

        let walk = SegmentWalk(bytes, from: SegmentHeader.bytes, maxRecordBytes: settings.maxRecordBytes)
        if let damage = walk.damage {
            guard isLast else {
                throw .corruptSegment(file: name, offset: damage.offset, reason: "\(damage.reason) in a segment that is not the last")
            }
            let expected = sequence + UInt64(walk.frames.count)
            if RecordFrame.validFrameExists(in: bytes, after: damage.offset, sequences: expected...(expected + UInt64(bytes.count)),
                                            maxRecordBytes: settings.maxRecordBytes) {
                throw .corruptSegment(file: name, offset: damage.offset, reason: "\(damage.reason), followed by valid records")
            }
        }
        let checkpointCount = Int(header.checkpointCount)
        if walk.frames.count < checkpointCount {
            guard isLast, !isFirst else {
                throw .corruptSegment(file: name, offset: walk.goodEnd, reason: "\(walk.frames.count) of \(checkpointCount) opening checkpoints")
            }
            try removeTorn(name, file: file, reason: "torn roll: \(walk.frames.count) of \(checkpointCount) opening checkpoints")
            return
        }
        if !isFirst && checkpointCount != table.count {
            throw .corruptSegment(file: name, offset: 0, reason: "\(checkpointCount) checkpoints for \(table.count) groups")
        }

        // The walk is sound: replay before repairing, so a rule violation leaves the file as found.
        for (k, frame) in walk.frames.enumerated() {
            let decoded = RecordFrame.decodeBody(bytes, at: frame.offset, bodyBytes: frame.bodyBytes, includePayload: false)
            guard case let .success((record, recordSequence)) = decoded else {
                if case let .failure(error) = decoded { throw .corruptSegment(file: name, offset: frame.offset, reason: error.reason) }
                throw .corruptSegment(file: name, offset: frame.offset, reason: "undecodable record")
            }
            guard recordSequence == nextSequence else {
                throw .corruptSegment(file: name, offset: frame.offset, reason: "record sequence \(recordSequence), expected \(nextSequence)")
            }
            do throws(GroupTable.Violation) {
                if k < checkpointCount {
                    guard case let .checkpoint(c) = record else { throw GroupTable.Violation(reason: "expected a checkpoint, found \(record.type)") }
                    if isFirst { try table.establish(c) } else { try table.verify(c) }
                } else {
                    try table.apply(record, at: (sequence, frame.offset, RecordFrame.headerBytes + frame.bodyBytes))
                }
            } catch {
                throw .corruptSegment(file: name, offset: frame.offset, reason: error.reason)
            }
            nextSequence += 1
        }

        if let damage = walk.damage {
            try file.truncate(to: damage.offset)
            try file.sync()
            statistics.fileSyncs += 1
            report.truncatedTails.append(.init(file: name, offset: damage.offset, droppedBytes: bytes.count - damage.offset, reason: damage.reason))
        }
        report.recordsReplayed += walk.frames.count
        segments.append(Segment(firstSequence: sequence, checkpointCount: checkpointCount, file: file,
                                durableBytes: walk.goodEnd, recordCount: walk.frames.count))
        keep = true
    }

    private mutating func removeTorn(_ name: String, file: any StorageFile, reason: String) throws(StorageError) {
        file.close()
        try fileSystem.removeFile(at: path(name))
        try fileSystem.syncDirectory(at: directory)
        statistics.directorySyncs += 1
        report.removedSegments.append(.init(file: name, reason: reason))
    }
}
