import Testing
@testable import ChorusStorage

@Suite struct HardStateTests {
    @Test(arguments: Medium.allCases)
    func hardState_survivesReopen_latestWins(medium: Medium) throws {
        try medium.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            for term: UInt64 in 1...20 {
                for g: UInt64 in 1...3 { try log.setHardState(HardState(term: term, vote: g, commit: term * 2), group: g) }
                try log.sync()
            }
            try log.setHardState(HardState(term: 99, vote: 9, commit: 9), group: 1)
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            #expect(reopened.hardState(group: 1) == HardState(term: 20, vote: 1, commit: 40), "unsynced hard state is lost")
            #expect(reopened.hardState(group: 3) == HardState(term: 20, vote: 3, commit: 40))
            #expect(reopened.hardState(group: 4) == nil)
        }
    }

    @Test func hardStateWrittenOnlyInADeletedSegment_survivesThroughCheckpoints() throws {
        try Medium.memory.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            try log.setHardState(HardState(term: 7, vote: 3, commit: 0), group: 5)
            for i: UInt64 in 1...200 { try log.append(group: 1, index: i, term: 7, payload: payload(1, i, 50)) }
            try log.markSnapshot(group: 1, index: 200, term: 7)
            let report = try log.compact()
            #expect(report.deletedSegments.contains(SegmentName.name(1)))
            log.close()
            let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            #expect(reopened.hardState(group: 5) == HardState(term: 7, vote: 3, commit: 0))
        }
    }
}
