import Testing
@testable import ChorusStorage

/// Recovery rules (docs/storage.md "Recovery"): a torn tail of the last segment is cut back to
/// the last good record; damage anywhere else refuses to open. Every case runs in memory at
/// every byte or bit, and on disk at a sample of them.
@Suite struct CrashRecoveryTests {
    @Test(arguments: Medium.allCases)
    func cutAtEveryByteOfTheLastTwoRecords_recoversExactlyTheRecordsBeforeTheCut(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let full = fixture.last
            var cuts = Array(stride(from: fixture.secondToLastOffset, to: full.count, by: medium.stride))
            cuts += [fixture.lastOffset, fixture.lastOffset + 1, full.count - 1]
            for cut in cuts {
                try fixture.restore(lastSegment: Array(full.prefix(cut)))
                let goodEnd = cut >= fixture.lastOffset ? fixture.lastOffset : fixture.secondToLastOffset
                let log = try fixture.open()
                #expect(try contents(log) == fixture.expected(dropping: cut >= fixture.lastOffset ? 1 : 2), "cut at \(cut)")
                if cut == goodEnd {
                    #expect(log.recovery.isClean, "cut at \(cut) is a record boundary")
                } else {
                    #expect(log.recovery.truncatedTails.map(\.offset) == [goodEnd], "cut at \(cut)")
                    #expect(log.recovery.truncatedTails.first?.droppedBytes == cut - goodEnd)
                }
                #expect(try fixture.read(fixture.lastName).count == goodEnd, "file cut back to the last good record")
                // The repaired log takes appends and reopens cleanly.
                try log.append(group: 3, index: log.lastIndex(group: 3) + 1, term: 9, payload: [9])
                try log.sync()
                log.close()
                let again = try fixture.open()
                #expect(again.recovery.isClean, "cut at \(cut): second open")
                #expect(again.term(group: 3, index: again.lastIndex(group: 3)) == 9)
                again.close()
            }
        }
    }

    @Test(arguments: Medium.allCases)
    func flippingAnyBitOfTheLastRecord_truncatesIt(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let full = fixture.last
            for bit in stride(from: fixture.lastOffset * 8, to: full.count * 8, by: medium.stride) {
                var damaged = full
                damaged[bit / 8] ^= 1 << UInt8(bit % 8)
                try fixture.restore(lastSegment: damaged)
                let log = try fixture.open()
                #expect(try contents(log) == fixture.expected(dropping: 1), "bit \(bit)")
                #expect(log.recovery.truncatedTails.map(\.offset) == [fixture.lastOffset], "bit \(bit)")
                log.close()
            }
        }
    }

    @Test(arguments: Medium.allCases)
    func flippingAnyBitOfAnEarlierRecordFollowedByAValidOne_isCorruptSegment(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let full = fixture.last
            for bit in stride(from: fixture.secondToLastOffset * 8, to: fixture.lastOffset * 8, by: medium.stride) {
                var damaged = full
                damaged[bit / 8] ^= 1 << UInt8(bit % 8)
                try fixture.restore(lastSegment: damaged)
                #expect("bit \(bit)") { try fixture.open() } throws: { error in
                    guard case let .corruptSegment(file, offset, _) = error as? StorageError else { return false }
                    return file == fixture.lastName && offset == fixture.secondToLastOffset
                }
                // The file is left exactly as found, for the operator.
                #expect(try fixture.read(fixture.lastName) == damaged)
            }
        }
    }

    @Test(arguments: Medium.allCases)
    func damageInASegmentThatIsNotTheLast_isCorruptSegment_evenAtItsEnd(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let victim = fixture.segmentNames[fixture.segmentNames.count / 2]
            for position in ["middle", "last byte", "header"] {
                var files = fixture.files
                var bytes = files[victim] ?? []
                let at = position == "header" ? 10 : position == "last byte" ? bytes.count - 1 : bytes.count / 2
                bytes[at] ^= 0x40
                files[victim] = bytes
                try fixture.restore(files)
                #expect("\(position)") { try fixture.open() } throws: { error in
                    guard case let .corruptSegment(file, _, _) = error as? StorageError else { return false }
                    return file == victim
                }
            }
        }
    }

    @Test(arguments: Medium.allCases)
    func zeroedTail_isTruncated_andZeroedMiddle_isCorrupt(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let full = fixture.last
            // A file extended with zeros by a crash (size updated, data not).
            try fixture.restore(lastSegment: full + [UInt8](repeating: 0, count: 4096))
            let log = try fixture.open()
            #expect(try contents(log) == fixture.expected)
            #expect(log.recovery.truncatedTails.first?.reason == "bad length 0")
            log.close()
            // The last record zeroed in place.
            var zeroedLast = full
            for i in fixture.lastOffset..<full.count { zeroedLast[i] = 0 }
            try fixture.restore(lastSegment: zeroedLast)
            let log2 = try fixture.open()
            #expect(try contents(log2) == fixture.expected(dropping: 1))
            log2.close()
            // The second-to-last zeroed: a valid record follows, so it is not a torn tail.
            var zeroedMiddle = full
            for i in fixture.secondToLastOffset..<fixture.lastOffset { zeroedMiddle[i] = 0 }
            try fixture.restore(lastSegment: zeroedMiddle)
            #expect(throws: StorageError.self) { try fixture.open() }
        }
    }

    @Test(arguments: Medium.allCases)
    func hostileLengthFields_areTruncatedAtTheTail_andCorruptInTheMiddle(medium: Medium) throws {
        try medium.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            for length: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF], [0x00, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0]] {
                var tail = fixture.last
                tail.replaceSubrange(fixture.lastOffset..<fixture.lastOffset + 4, with: length)
                try fixture.restore(lastSegment: tail)
                let log = try fixture.open()
                #expect(try contents(log) == fixture.expected(dropping: 1))
                log.close()
                var middle = fixture.last
                middle.replaceSubrange(fixture.secondToLastOffset..<fixture.secondToLastOffset + 4, with: length)
                try fixture.restore(lastSegment: middle)
                #expect(throws: StorageError.self) { try fixture.open() }
            }
        }
    }

    @Test func checksumValidRecordThatBreaksTheRules_isCorruptNotTruncated() throws {
        try Medium.memory.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            let next = UInt64(fixture.offsets.count) + (SegmentName.parse(fixture.lastName) ?? 0)
            let cases: [(Record, UInt64, String)] = [
                (.entry(group: 1, index: 999, term: 1, payload: []), next, "gap"),
                (.entry(group: 3, index: 41, term: 1, payload: []), next + 1, "sequence skip"),
                (.entry(group: 3, index: 41, term: 1, payload: []), next - 1, "sequence repeat"),
                (.truncation(group: 1, fromIndex: 0), next, "truncation at index 0"),
                (.snapshotMark(group: 1, SnapshotMark(index: 0, term: 0)), next, "stale mark"),
                (.groupRemoval(group: 42), next, "unknown group"),
                (.entry(group: 9, index: 1 << 62, term: 1, payload: []), next, "index beyond the limit"),
                (.checkpoint(GroupCheckpoint(group: 1, lastIndex: 1, snapshot: .zero, hardState: nil)), next, "stray checkpoint"),
            ]
            for (record, sequence, name) in cases {
                try fixture.restore(lastSegment: fixture.last + RecordFrame.encode(record, sequence: sequence))
                #expect(throws: StorageError.self, "\(name)") { try fixture.open() }
            }
            // The same kind of record, correct: accepted.
            try fixture.restore(lastSegment: fixture.last + RecordFrame.encode(.entry(group: 3, index: 41, term: 1, payload: [1]), sequence: next))
            #expect(try fixture.open().lastIndex(group: 3) == 41)
        }
    }

    @Test(arguments: Medium.allCases)
    func tornRoll_removesTheNewSegment_andTheLogContinuesInThePreviousOne(medium: Medium) throws {
        try medium.run { fs, dir in
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            for g: UInt64 in 1...8 { try log.append(group: g, index: 1, term: 1, payload: [UInt8](repeating: 1, count: 60)) }
            try log.sync()
            let before = try contents(log)
            try log.append(group: 1, index: 2, term: 1, payload: [UInt8](repeating: 2, count: 600))
            #expect(log.active.checkpointCount == 8)
            try log.sync()
            let rolled = log.active.name
            log.close()
            let files = try image(fs, dir)
            let full = files[rolled] ?? []
            let checkpointEnd = frameOffsets(full)[8]
            for cut in [0, 3, SegmentHeader.bytes - 1, SegmentHeader.bytes, SegmentHeader.bytes + 40, checkpointEnd - 1] {
                var damaged = files
                damaged[rolled] = Array(full.prefix(cut))
                try restore(fs, dir, damaged)
                let reopened = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
                #expect(reopened.recovery.removedSegments.map(\.file) == [rolled], "cut at \(cut)")
                #expect(try contents(reopened) == before)
                #expect(reopened.segmentNames.count == 1)
                // The next roll recreates the name with a full set of checkpoints.
                try reopened.append(group: 1, index: 2, term: 1, payload: [UInt8](repeating: 2, count: 600))
                try reopened.sync()
                #expect(reopened.segmentNames.last == rolled)
                reopened.close()
                let again = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
                #expect(again.recovery.isClean)
                #expect(again.lastIndex(group: 1) == 2)
                again.close()
            }
        }
    }

    @Test func aMissingMiddleSegment_isASequenceGap() throws {
        try Medium.memory.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            var files = fixture.files
            files[fixture.segmentNames[3]] = nil
            try fixture.restore(files)
            #expect { try fixture.open() } throws: { error in
                guard case let .corruptSegment(file, _, reason) = error as? StorageError else { return false }
                return file == fixture.segmentNames[4] && reason.hasPrefix("sequence gap")
            }
        }
    }

    @Test func aMissingFirstSegment_holdingLiveEntries_isMissingRecords() throws {
        try Medium.memory.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            var files = fixture.files
            files[fixture.segmentNames[0]] = nil
            try fixture.restore(files)
            #expect { try fixture.open() } throws: { error in
                guard case let .missingRecords(group, from, _) = error as? StorageError else { return false }
                return group == 1 && from == 1
            }
        }
    }

    @Test func aSegmentWhoseNameDisagreesWithItsHeader_isCorrupt() throws {
        try Medium.memory.run { fs, dir in
            let fixture = try CrashFixture(fs, dir)
            var files = fixture.files
            files[fixture.lastName] = nil
            files[SegmentName.name((SegmentName.parse(fixture.lastName) ?? 0) + 1)] = fixture.last
            try fixture.restore(files)
            #expect(throws: StorageError.self) { try fixture.open() }
        }
    }
}
