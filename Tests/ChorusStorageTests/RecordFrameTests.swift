import Testing
import ChorusBase
import ChorusWire
@testable import ChorusStorage

@Suite struct RecordFrameTests {
    static let samples: [Record] = [
        .entry(group: 7, index: 42, term: 3, payload: [1, 2, 3, 4, 5]),
        .entry(group: UInt64.max, index: 1, term: 0, payload: []),
        .truncation(group: 7, fromIndex: 40),
        .hardState(group: 9, HardState(term: 5, vote: 2, commit: 17)),
        .snapshotMark(group: 9, SnapshotMark(index: 100, term: 4)),
        .groupRemoval(group: 11),
        .checkpoint(GroupCheckpoint(group: 3, lastIndex: 12, snapshot: SnapshotMark(index: 10, term: 2), hardState: HardState(term: 2, vote: 1, commit: 11))),
        .checkpoint(GroupCheckpoint(group: 4, lastIndex: 0, snapshot: .zero, hardState: nil)),
    ]

    @Test(arguments: samples)
    func encodeThenDecode_givesTheSameRecordAndSequence(record: Record) {
        let bytes = RecordFrame.encode(record, sequence: 99)
        #expect(bytes.count == RecordFrame.frameBytes(of: record))
        #expect(RecordFrame.decode(bytes, at: 0, maxRecordBytes: 1 << 20) == .record(record, sequence: 99, frameBytes: bytes.count))
    }

    @Test func hostileLengthFields_areDamageNotAllocations() {
        for length: UInt32 in [0xFFFF_FFFF, 0x7FFF_FFFF, 0, 1, 8, 1 << 21] {
            var w = ByteWriter()
            w.u32(length); w.u32(0); w.raw([UInt8](repeating: 0, count: 32))
            guard case .damaged = RecordFrame.check(w.bytes, at: 0, maxRecordBytes: 1 << 20) else {
                Issue.record("length \(length) accepted"); continue
            }
        }
    }

    @Test func damagedFrames_nameTheReason() {
        var bytes = RecordFrame.encode(.groupRemoval(group: 1), sequence: 1)
        #expect(RecordFrame.check(Array(bytes.prefix(5)), at: 0, maxRecordBytes: 1024) == .damaged(reason: "short header: 5 bytes"))
        #expect(RecordFrame.check(Array(bytes.dropLast()), at: 0, maxRecordBytes: 1024) == .damaged(reason: "short record: length 17, 16 bytes present"))
        bytes[bytes.count - 1] ^= 1
        #expect(RecordFrame.check(bytes, at: 0, maxRecordBytes: 1024) == .damaged(reason: "checksum mismatch"))
        #expect(RecordFrame.check([], at: 0, maxRecordBytes: 1024) == .end)
    }

    @Test func checksumValidBodyOfUnknownType_isMalformedNotDamaged() {
        var w = ByteWriter()
        let body: [UInt8] = [0xEE] + [UInt8](repeating: 0, count: 8)
        w.u32(UInt32(body.count)); w.u32(CRC32C.checksum(body)); w.raw(body)
        guard case .malformed = RecordFrame.decode(w.bytes, at: 0, maxRecordBytes: 1024) else {
            Issue.record("unknown type not reported as malformed"); return
        }
    }

    @Test func checksumValidBodyOfWrongLength_isMalformed() {
        var w = ByteWriter()
        let body: [UInt8] = [RecordType.truncation.rawValue] + [UInt8](repeating: 0, count: 30)
        w.u32(UInt32(body.count)); w.u32(CRC32C.checksum(body)); w.raw(body)
        guard case .malformed = RecordFrame.decode(w.bytes, at: 0, maxRecordBytes: 1024) else {
            Issue.record("wrong-length body accepted"); return
        }
    }

    @Test func decodingRandomBytes_neverTraps() {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<20_000 {
            let n = rng.below(64)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if n >= 4, rng.below(2) == 0 { bytes[0] = 0; bytes[1] = 0; bytes[2] = 0; bytes[3] = UInt8(rng.below(60)) }
            _ = RecordFrame.decode(bytes, at: rng.below(n + 1), maxRecordBytes: 1 << 20)
            _ = SegmentHeader.decode(bytes)
            _ = SnapshotFile.decode(bytes)
            _ = RecordFrame.validFrameExists(in: bytes, after: 0, sequences: 0...UInt64.max, maxRecordBytes: 1 << 20)
        }
    }

    @Test func resyncScan_findsARecordAfterGarbage_andNotInPureGarbage() {
        let good = RecordFrame.encode(.entry(group: 1, index: 2, term: 1, payload: [9, 9]), sequence: 5)
        let garbage = [UInt8](repeating: 0x5A, count: 37)
        #expect(RecordFrame.validFrameExists(in: garbage + good, after: 0, sequences: 5...10, maxRecordBytes: 1024))
        #expect(!RecordFrame.validFrameExists(in: garbage + good, after: 0, sequences: 6...10, maxRecordBytes: 1024))
        #expect(!RecordFrame.validFrameExists(in: garbage + [UInt8](repeating: 0, count: 100), after: 0, sequences: 0...10, maxRecordBytes: 1024))
    }

    @Test func segmentHeader_roundTripsAndRefusesDamage() {
        var w = ByteWriter()
        let h = SegmentHeader(firstSequence: 1234, checkpointCount: 7)
        h.encode(into: &w)
        #expect(w.count == SegmentHeader.bytes)
        #expect((try? SegmentHeader.decode(w.bytes).get()) == h)
        for i in 0..<w.count {
            var bad = w.bytes
            bad[i] ^= 0x10
            #expect((try? SegmentHeader.decode(bad).get()) == nil, "flip in byte \(i) accepted")
        }
    }

    @Test func segmentNames_sortInLogOrder() {
        #expect(SegmentName.name(1) == "00000000000000000001.seg")
        #expect(SegmentName.parse(SegmentName.name(UInt64.max)) == UInt64.max)
        #expect(SegmentName.parse("99999999999999999999.seg") == nil)
        #expect(SegmentName.parse("0000000000000000001.seg") == nil)
        #expect(SegmentName.parse("0000000000000000000a.seg") == nil)
        #expect(SegmentName.name(9) < SegmentName.name(10))
    }
}

@Suite struct RecordFrameEdgeTests {
    @Test func extremeOffsets_areVerdictsNotTraps() {
        let bytes = RecordFrame.encode(.groupRemoval(group: 1), sequence: 1)
        for offset in [Int.min, -1, bytes.count, bytes.count + 1, Int.max] {
            _ = RecordFrame.decode(bytes, at: offset, maxRecordBytes: 1024)
            _ = RecordFrame.decodeBody(bytes, at: offset, bodyBytes: 17, includePayload: true)
            _ = RecordFrame.validFrameExists(in: bytes, after: offset, sequences: 0...9, maxRecordBytes: 1024)
        }
        guard case .failure = RecordFrame.decodeBody(bytes, at: 0, bodyBytes: Int.max, includePayload: true) else {
            Issue.record("an impossible body length decoded"); return
        }
    }
}
