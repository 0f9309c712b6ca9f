import Testing
@testable import ChorusStorage

@Suite struct TruncationTests {
    @Test func appendAtOrBelowTheLastIndex_overwritesTheSuffix_andSurvivesReopen() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments)
            for i: UInt64 in 1...10 { try log.append(group: 1, index: i, term: 1, payload: [UInt8(i)]) }
            try log.sync()
            try log.append(group: 1, index: 6, term: 2, payload: [60])
            try log.append(group: 1, index: 7, term: 2, payload: [70])
            #expect(log.lastIndex(group: 1) == 7)
            try log.sync()
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(reopened.lastIndex(group: 1) == 7)
            let entries = try reopened.entries(group: 1, from: 1, to: 8)
            #expect(entries.map(\.term) == [1, 1, 1, 1, 1, 2, 2])
            #expect(entries.map(\.payload) == [[1], [2], [3], [4], [5], [60], [70]])
        }
    }

    @Test func truncationsAcrossSegmentRolls_replayInOrder() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments)
            var expected: [LogEntry] = []
            for round: UInt64 in 1...5 {
                // Each round rewrites from index 10*round - 5 with a higher term.
                let start = round == 1 ? 1 : 10 * round - 5
                expected.removeAll { $0.index >= start }
                for i in start..<(start + 15) {
                    let p = payload(round, i, 60)
                    try log.append(group: 1, index: i, term: round, payload: p)
                    expected.append(LogEntry(index: i, term: round, payload: p))
                    try log.append(group: 2, index: log.lastIndex(group: 2) + 1, term: 1, payload: p)
                }
                try log.sync()
            }
            #expect(log.segmentNames.count > 5)
            #expect(try log.entries(group: 1, from: 1, to: log.lastIndex(group: 1) + 1) == expected)
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments)
            #expect(try reopened.entries(group: 1, from: 1, to: reopened.lastIndex(group: 1) + 1) == expected)
            #expect(reopened.lastIndex(group: 2) == 75)
        }
    }

    @Test func explicitTruncate_removesTheSuffix_andPastTheEndIsANoOp() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            for i: UInt64 in 1...10 { try log.append(group: 1, index: i, term: 1, payload: []) }
            try log.truncate(group: 1, from: 4)
            let records = log.statistics.appendedRecords
            try log.truncate(group: 1, from: 4)
            try log.truncate(group: 9, from: 1)
            #expect(log.statistics.appendedRecords == records)
            try log.sync()
            log.close()
            let reopened = try SegmentLog(directory: dir)
            #expect(reopened.lastIndex(group: 1) == 3)
            try reopened.append(group: 1, index: 4, term: 3, payload: [4])
            #expect(reopened.term(group: 1, index: 4) == 3)
        }
    }

    @Test func unsyncedTruncation_isLostTogetherWithItsEntries() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            for i: UInt64 in 1...10 { try log.append(group: 1, index: i, term: 1, payload: []) }
            try log.sync()
            try log.append(group: 1, index: 3, term: 2, payload: [])
            log.close()
            let reopened = try SegmentLog(directory: dir)
            #expect(reopened.lastIndex(group: 1) == 10)
            #expect(reopened.term(group: 1, index: 3) == 1)
        }
    }
}
