import Testing
@testable import ChorusStorage

@Suite struct CompactionTests {
    /// Groups 1 and 2, 100 entries each, interleaved over 1 KiB segments.
    static func interleaved(_ log: SegmentLog) throws {
        for i: UInt64 in 1...100 {
            try log.append(group: 1, index: i, term: 1, payload: payload(1, i, 40))
            try log.append(group: 2, index: i, term: 1, payload: payload(2, i, 40))
            if i % 10 == 0 { try log.sync() }
        }
    }

    @Test(arguments: Medium.allCases)
    func compactionDeletesOnlySegmentsEveryGroupHasCovered(medium: Medium) throws {
        try medium.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            try Self.interleaved(log)
            try log.setHardState(HardState(term: 1, vote: 2, commit: 90), group: 2)
            let all = log.segmentNames
            #expect(all.count > 10)

            // Group 1 covered entirely; group 2 still holds the first segment.
            try log.markSnapshot(group: 1, index: 100, term: 1)
            var report = try log.compact()
            #expect(report.deletedSegments.isEmpty)
            #expect(report.pinnedBy == 2)

            // Group 2 covered up to 50: exactly the segments before the one holding its entry 51 go.
            try log.markSnapshot(group: 2, index: 50, term: 1)
            let holder = try #require(log.table[2]?.location(of: 51)?.segment)
            report = try log.compact()
            #expect(report.deletedSegments == all.filter { (SegmentName.parse($0) ?? 0) < holder })
            #expect(log.segmentNames.first == SegmentName.name(holder))
            #expect(throws: StorageError.compacted(group: 2, index: 50, firstIndex: 51)) { try log.entries(group: 2, from: 50, to: 52) }
            #expect(try log.entries(group: 2, from: 51, to: 101).count == 50)
            log.close()

            // The oldest remaining segment's checkpoints carry every group across the reopen.
            let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            #expect(reopened.recovery.isClean)
            #expect(reopened.snapshotMark(group: 1) == SnapshotMark(index: 100, term: 1))
            #expect(reopened.lastIndex(group: 1) == 100 && reopened.firstIndex(group: 1) == 101)
            #expect(reopened.snapshotMark(group: 2) == SnapshotMark(index: 50, term: 1))
            #expect(reopened.hardState(group: 2) == HardState(term: 1, vote: 2, commit: 90))
            #expect(try reopened.entries(group: 2, from: 51, to: 101).map(\.payload) == (51...100).map { payload(2, $0, 40) })
            #expect(reopened.term(group: 1, index: 100) == 1)

            // Everything covered: all but the active segment go, and the log still works.
            try reopened.markSnapshot(group: 2, index: 100, term: 1)
            report = try reopened.compact()
            #expect(reopened.segmentNames.count == 1)
            #expect(report.retainedSegments == 1)
            try reopened.append(group: 1, index: 101, term: 2, payload: [1])
            try reopened.sync()
            reopened.close()
            let third = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            #expect(try third.entries(group: 1, from: 101, to: 102) == [LogEntry(index: 101, term: 2, payload: [1])])
            #expect(third.hardState(group: 2) == HardState(term: 1, vote: 2, commit: 90))
        }
    }

    @Test func theActiveSegment_isNeverDeleted() throws {
        try Medium.memory.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            try log.append(group: 1, index: 1, term: 1, payload: [1])
            try log.markSnapshot(group: 1, index: 1, term: 1)
            let report = try log.compact()
            #expect(report.deletedSegments.isEmpty)
            #expect(log.segmentNames == [SegmentName.name(1)])
        }
    }

    @Test func removedGroups_andTruncatedEntries_pinNothing() throws {
        try Medium.memory.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            try Self.interleaved(log)
            try log.removeGroup(2)
            try log.truncate(group: 1, from: 1)
            try log.append(group: 1, index: 1, term: 2, payload: [1])
            let report = try log.compact()
            #expect(log.segmentNames.count == 1)
            #expect(report.pinnedBy == 1)
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            #expect(reopened.groups == [1])
            #expect(try reopened.entries(group: 1, from: 1, to: 2) == [LogEntry(index: 1, term: 2, payload: [1])])
        }
    }

    @Test func marksAreMadeDurableBeforeTheSegmentsTheyFreeAreDeleted() throws {
        try Medium.memory.run { mem, dir in
            let fs = CountingFileSystem(mem)
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            try Self.interleaved(log)
            try log.markSnapshot(group: 1, index: 100, term: 1)
            try log.markSnapshot(group: 2, index: 100, term: 1)
            #expect(log.hasUnsyncedRecords)
            let report = try log.compact()
            #expect(!report.deletedSegments.isEmpty)
            // A power failure right after compaction keeps the marks: the log opens.
            (mem as? MemoryFileSystem)?.crash()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: mem)
            #expect(reopened.snapshotMark(group: 2) == SnapshotMark(index: 100, term: 1))
        }
    }

    @Test func aSnapshotInstalledPastTheLastIndex_emptiesTheGroupsLog() throws {
        try Medium.memory.run { fs, dir in
            let log = try SegmentLog(directory: dir, fileSystem: fs)
            for i: UInt64 in 1...5 { try log.append(group: 1, index: i, term: 1, payload: []) }
            try log.markSnapshot(group: 1, index: 50, term: 3)
            #expect(log.firstIndex(group: 1) == 51 && log.lastIndex(group: 1) == 50)
            #expect(log.term(group: 1, index: 50) == 3)
            try log.append(group: 1, index: 51, term: 3, payload: [])
            try log.markSnapshot(group: 1, index: 40, term: 2)
            #expect(log.snapshotMark(group: 1).index == 50, "an older mark is ignored")
            try log.sync()
            log.close()
            let reopened = try SegmentLog(directory: dir, fileSystem: fs)
            #expect(reopened.firstIndex(group: 1) == 51 && reopened.lastIndex(group: 1) == 51)
        }
    }
}
