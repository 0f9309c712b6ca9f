import Testing
import ChorusBase
@testable import ChorusStorage

@Suite struct SegmentLogTests {
    /// 6 groups, entries of varying size, synced in batches, 1 KiB segments.
    static func fill(_ log: SegmentLog, groups: UInt64 = 6, perGroup: UInt64 = 120) throws -> [UInt64: [LogEntry]] {
        var expected: [UInt64: [LogEntry]] = [:]
        var rng = SeededRandom(seed: 42)
        for i in 1...perGroup {
            for g in 1...groups {
                let p = payload(g, i, rng.below(90))
                try log.append(group: g, index: i, term: 1 + i / 50, payload: p)
                expected[g, default: []].append(LogEntry(index: i, term: 1 + i / 50, payload: p))
            }
            if i % 7 == 0 { try log.sync() }
        }
        try log.sync()
        return expected
    }

    @Test func manyGroupsAcrossRolls_readBackBeforeAndAfterReopen() throws {
        try withTemporaryDirectory { dir in
            let expected: [UInt64: [LogEntry]]
            do {
                let log = try SegmentLog(directory: dir, settings: smallSegments)
                expected = try Self.fill(log)
                #expect(log.segmentNames.count > 20)
                #expect(try contents(log) == expected)
                log.close()
            }
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(reopened.recovery.isClean)
            #expect(reopened.recovery.groups == 6)
            #expect(try contents(reopened) == expected)
            #expect(reopened.term(group: 3, index: 120) == 3)
            #expect(reopened.term(group: 3, index: 0) == 0)
            #expect(reopened.term(group: 3, index: 121) == nil)
            // Appending continues where the log left off, and survives another reopen.
            try reopened.append(group: 3, index: 121, term: 3, payload: [7])
            try reopened.sync()
            reopened.close()
            let third = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(try third.entries(group: 3, from: 121, to: 122) == [LogEntry(index: 121, term: 3, payload: [7])])
        }
    }

    @Test func unsyncedEntries_areReadable_butLostWithoutSync() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments)
            try log.append(group: 1, index: 1, term: 1, payload: [1])
            try log.sync()
            for i: UInt64 in 2...40 { try log.append(group: 1, index: i, term: 1, payload: payload(1, i, 50)) }
            #expect(log.hasUnsyncedRecords)
            #expect(try log.entries(group: 1, from: 1, to: 41).count == 40)
            #expect(try log.entries(group: 1, from: 40, to: 41) == [LogEntry(index: 40, term: 1, payload: payload(1, 40, 50))])
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(reopened.lastIndex(group: 1) == 1)
        }
    }

    @Test func syncReturnsTheDurableSequence_andNothingPendingIsANoOp() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            let a = try log.append(group: 1, index: 1, term: 1, payload: [])
            let b = try log.append(group: 2, index: 1, term: 1, payload: [])
            #expect(b > a)
            #expect(log.durableSequence < a)
            #expect(try log.sync() == b)
            #expect(log.durableSequence == b)
            #expect(!log.hasUnsyncedRecords)
            let syncs = log.statistics.syncs
            #expect(try log.sync() == b)
            #expect(log.statistics.syncs == syncs)
        }
    }

    @Test func entriesHonoursMaxBytes_butReturnsAtLeastOne() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            for i: UInt64 in 1...10 { try log.append(group: 1, index: i, term: 1, payload: [UInt8](repeating: 1, count: 100)) }
            try log.sync()
            #expect(try log.entries(group: 1, from: 1, to: 11, maxBytes: 350).count == 3)
            #expect(try log.entries(group: 1, from: 1, to: 11, maxBytes: 10).count == 1)
            #expect(try log.entries(group: 1, from: 4, to: 4).isEmpty)
        }
    }

    @Test func readsOutsideTheLog_areTypedErrors() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            for i: UInt64 in 1...10 { try log.append(group: 1, index: i, term: 1, payload: []) }
            try log.markSnapshot(group: 1, index: 4, term: 1)
            #expect(throws: StorageError.compacted(group: 1, index: 4, firstIndex: 5)) { try log.entries(group: 1, from: 4, to: 6) }
            #expect(throws: StorageError.unavailable(group: 1, index: 11, lastIndex: 10)) { try log.entries(group: 1, from: 5, to: 12) }
            #expect(throws: StorageError.invalidRange(group: 1, from: 7, to: 6)) { try log.entries(group: 1, from: 7, to: 6) }
            #expect(try log.entries(group: 99, from: 1, to: 1).isEmpty)
            #expect(log.term(group: 1, index: 4) == 1)
            #expect(log.term(group: 1, index: 3) == nil)
        }
    }

    @Test func appendsThatBreakTheRules_areRefusedAndWriteNothing() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: SegmentLogSettings(segmentBytes: 4096, maxRecordBytes: 1024))
            #expect(throws: StorageError.invalidAppend(group: 1, index: 2, reason: "gap after last index 0")) {
                try log.append(group: 1, index: 2, term: 1, payload: [])
            }
            #expect(throws: StorageError.self) { try log.append(group: 1, index: 0, term: 1, payload: []) }
            #expect(throws: StorageError.recordTooLarge(bytes: 1033, limit: 1024)) {
                try log.append(group: 1, index: 1, term: 1, payload: [UInt8](repeating: 0, count: 1000))
            }
            try log.markSnapshot(group: 1, index: 10, term: 2)
            #expect(throws: StorageError.self) { try log.append(group: 1, index: 10, term: 2, payload: []) }
            #expect(throws: StorageError.self) { try log.truncate(group: 1, from: 5) }
            #expect(log.statistics.appendedRecords == 1)
            try log.append(group: 1, index: 11, term: 2, payload: [])
            #expect(log.firstIndex(group: 1) == 11 && log.lastIndex(group: 1) == 11)
        }
    }

    @Test func invalidSettings_areRefusedByName() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: StorageError.invalidSetting(name: "segmentBytes", rule: "must be between 256 bytes and 1 GiB, got 10")) {
                try SegmentLog(directory: dir, settings: SegmentLogSettings(segmentBytes: 10))
            }
        }
    }

    @Test func aRecordLargerThanASegment_getsASegmentOfItsOwn() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments)
            let big = payload(1, 1, 5000)
            try log.append(group: 1, index: 1, term: 1, payload: [1])
            try log.append(group: 1, index: 2, term: 1, payload: big)
            try log.append(group: 1, index: 3, term: 1, payload: [3])
            try log.sync()
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(try reopened.entries(group: 1, from: 2, to: 3) == [LogEntry(index: 2, term: 1, payload: big)])
            #expect(reopened.segmentNames.count == 3)
        }
    }

    @Test func removedGroup_isGoneAfterReopen_andItsIdCanStartAgain() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments)
            for i: UInt64 in 1...30 {
                try log.append(group: 1, index: i, term: 1, payload: [1])
                try log.append(group: 2, index: i, term: 1, payload: [2])
            }
            try log.setHardState(HardState(term: 1, vote: 1, commit: 30), group: 2)
            try log.removeGroup(2)
            try log.removeGroup(77)
            try log.append(group: 2, index: 1, term: 5, payload: [5])
            try log.sync()
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(reopened.groups == [1, 2])
            #expect(reopened.lastIndex(group: 2) == 1)
            #expect(reopened.hardState(group: 2) == nil)
            #expect(try reopened.entries(group: 2, from: 1, to: 2) == [LogEntry(index: 1, term: 5, payload: [5])])
        }
    }
}
