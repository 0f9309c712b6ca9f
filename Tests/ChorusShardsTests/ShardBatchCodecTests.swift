import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire
import XCTest

final class ShardBatchCodecTests: XCTestCase {
    func testBatch_roundTrips_withCoalescedHeartbeats() throws {
        var b = ShardBatch(from: NodeID(1), to: NodeID(2), epoch: 42)
        b.append(Message(from: NodeID(1), to: NodeID(2), term: Term(3), body: .heartbeat(Heartbeat(commit: LogIndex(7)))), shard: ShardID(5))
        b.append(Message(from: NodeID(1), to: NodeID(2), term: Term(3), body: .appendEntries(AppendEntries(prevIndex: LogIndex(1), prevTerm: Term(1), entries: [Entry(index: LogIndex(2), term: Term(3), payload: .command([1, 2]))], commit: LogIndex(1)))), shard: ShardID(9))
        b.removals.append(.init(shard: ShardID(4), term: Term(2), index: LogIndex(11)))
        XCTAssertEqual(b.heartbeats.count, 1, "a plain heartbeat is coalesced")
        XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
    }

    // MARK: round trips

    func testEveryMessageKind_roundTrips_andExpandsBackToTheSameMessages() throws {
        var gen = BatchGenerator(seed: 11)
        let from = NodeID(3), to = NodeID(8)
        for kind in 0..<10 {
            for _ in 0..<200 {
                let m = gen.message(from: from, to: to, kind: kind)
                let shard = gen.shard()
                var b = ShardBatch(from: from, to: to, epoch: 5)
                b.append(m, shard: shard)
                XCTAssertEqual(b.messageCount, 1)
                let decoded = try ShardBatchCodec.decode(ShardBatchCodec.encode(b))
                XCTAssertEqual(decoded, b, "kind \(kind): \(m)")
                let expanded = decoded.expanded
                XCTAssertEqual(expanded.count, 1)
                XCTAssertEqual(expanded.first?.shard, shard)
                XCTAssertEqual(expanded.first?.message, m, "kind \(kind)")
            }
        }
    }

    func testRandomBatches_roundTrip() throws {
        var gen = BatchGenerator(seed: 12)
        for _ in 0..<3_000 {
            let b = gen.batch()
            XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
        }
    }

    func testPlainHeartbeatsAndAnswers_areCoalescedIntoTriplesAndPairs_andExpandAfterOtherMessages() throws {
        let from = NodeID(1), to = NodeID(2)
        var b = ShardBatch(from: from, to: to, epoch: 9)
        let append = Message(from: from, to: to, term: Term(4), body: .appendEntries(AppendEntries(prevIndex: LogIndex(3), prevTerm: Term(4), entries: [], commit: LogIndex(3))))
        b.append(Message(from: from, to: to, term: Term(4), body: .heartbeat(Heartbeat(commit: LogIndex(3)))), shard: ShardID(2))
        b.append(Message(from: from, to: to, term: Term(6), body: .heartbeatResponse(HeartbeatResponse())), shard: ShardID(7))
        b.append(append, shard: ShardID(2))
        b.append(Message(from: from, to: to, term: Term(5), body: .heartbeat(Heartbeat(commit: LogIndex(0)))), shard: ShardID(65_535))
        XCTAssertEqual(b.heartbeats, [.init(shard: ShardID(2), term: Term(4), commit: LogIndex(3)),
                                      .init(shard: ShardID(65_535), term: Term(5), commit: LogIndex(0))])
        XCTAssertEqual(b.heartbeatResponses, [.init(shard: ShardID(7), term: Term(6))])
        XCTAssertEqual(b.messages.count, 1)
        XCTAssertEqual(b.messageCount, 4)
        let decoded = try ShardBatchCodec.decode(ShardBatchCodec.encode(b))
        XCTAssertEqual(decoded, b)
        // A heartbeat's commit index may only act after the entries sent before it.
        let expanded = decoded.expanded.map { "\($0.shard) \($0.message)" }
        XCTAssertEqual(expanded, [
            "2 \(append)",
            "2 \(Message(from: from, to: to, term: Term(4), body: .heartbeat(Heartbeat(commit: LogIndex(3)))))",
            "65535 \(Message(from: from, to: to, term: Term(5), body: .heartbeat(Heartbeat(commit: LogIndex(0)))))",
            "7 \(Message(from: from, to: to, term: Term(6), body: .heartbeatResponse(HeartbeatResponse())))",
        ])
    }

    func testHeartbeatsWithReadIndexContext_travelUncoalesced_andKeepTheirContext() throws {
        let from = NodeID(1), to = NodeID(2)
        let heartbeat = Message(from: from, to: to, term: Term(2), body: .heartbeat(Heartbeat(commit: LogIndex(9), context: [0, 0, 0, 0, 0, 0, 0, 42])))
        let answer = Message(from: from, to: to, term: Term(2), body: .heartbeatResponse(HeartbeatResponse(context: [7])))
        var b = ShardBatch(from: from, to: to, epoch: 1)
        b.append(heartbeat, shard: ShardID(3))
        b.append(answer, shard: ShardID(4))
        XCTAssertTrue(b.heartbeats.isEmpty)
        XCTAssertTrue(b.heartbeatResponses.isEmpty)
        XCTAssertEqual(b.messages.map(\.message), [heartbeat, answer])
        let decoded = try ShardBatchCodec.decode(ShardBatchCodec.encode(b))
        XCTAssertEqual(decoded.expanded.map(\.message), [heartbeat, answer])
    }

    func testRemovalNotices_andEmptyBatch_roundTrip() throws {
        var b = ShardBatch(from: NodeID(7), to: NodeID(1), epoch: 0)
        XCTAssertTrue(b.isEmpty)
        XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
        b.removals = [.init(shard: ShardID(0), term: Term(1), index: LogIndex(2)),
                      .init(shard: ShardID(65_535), term: Term(Term.limit - 1), index: LogIndex(LogIndex.limit - 1))]
        XCTAssertFalse(b.isEmpty)
        XCTAssertEqual(b.messageCount, 0)
        XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
        XCTAssertTrue(ShardBatchCodec.isBatch(ShardBatchCodec.encode(b)))
        XCTAssertFalse(ShardBatchCodec.isBatch([0x43, 0x48, 1]))
    }

    // MARK: refusals

    private func assertRefused(_ bytes: [UInt8], _ why: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ShardBatchCodec.decode(bytes), why, file: file, line: line)
    }

    func testShardNumbersFrom65536_areRefusedInEveryList() throws {
        let from = NodeID(1), to = NodeID(2)
        let big = ShardID(UInt32(ShardBatchCodec.maxShards)), huge = ShardID(UInt32.max)
        for shard in [big, huge] {
            var hb = ShardBatch(from: from, to: to, epoch: 1)
            hb.append(Message(from: from, to: to, term: Term(1), body: .heartbeat(Heartbeat(commit: .zero))), shard: shard)
            assertRefused(ShardBatchCodec.encode(hb), "heartbeat of shard \(shard)")
            var answer = ShardBatch(from: from, to: to, epoch: 1)
            answer.append(Message(from: from, to: to, term: Term(1), body: .heartbeatResponse(HeartbeatResponse())), shard: shard)
            assertRefused(ShardBatchCodec.encode(answer), "heartbeat answer of shard \(shard)")
            var message = ShardBatch(from: from, to: to, epoch: 1)
            message.append(Message(from: from, to: to, term: Term(1), body: .timeoutNow), shard: shard)
            assertRefused(ShardBatchCodec.encode(message), "message of shard \(shard)")
            var removal = ShardBatch(from: from, to: to, epoch: 1)
            removal.removals = [.init(shard: shard, term: Term(1), index: LogIndex(1))]
            assertRefused(ShardBatchCodec.encode(removal), "removal of shard \(shard)")
        }
        var highest = ShardBatch(from: from, to: to, epoch: 1)
        highest.append(Message(from: from, to: to, term: Term(1), body: .timeoutNow), shard: ShardID(65_535))
        XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(highest)), highest, "65,535 is the last shard accepted")
    }

    func testMessageFromAnotherSenderOrToAnotherReceiver_isRefused() {
        let from = NodeID(1), to = NodeID(2)
        var forged = ShardBatch(from: from, to: to, epoch: 1)
        forged.append(Message(from: NodeID(3), to: to, term: Term(1), body: .timeoutNow), shard: ShardID(0))
        assertRefused(ShardBatchCodec.encode(forged), "another sender")
        var misrouted = ShardBatch(from: from, to: to, epoch: 1)
        misrouted.append(Message(from: from, to: NodeID(3), term: Term(1), body: .voteResponse(VoteResponse(granted: true, preVote: false))), shard: ShardID(0))
        assertRefused(ShardBatchCodec.encode(misrouted), "another receiver")
    }

    func testBadHeaderAndBadFields_areRefused() {
        let from = NodeID(1), to = NodeID(2)
        let valid = ShardBatchCodec.encode(ShardBatch(from: from, to: to, epoch: 3))
        XCTAssertNoThrow(try ShardBatchCodec.decode(valid))
        assertRefused([], "empty")
        assertRefused([0x52, 0x46] + valid.dropFirst(2), "Raft magic")
        assertRefused([valid[0], valid[1], 2] + valid.dropFirst(3), "version 2")
        assertRefused(valid + [0], "trailing byte")
        assertRefused(ShardBatchCodec.encode(ShardBatch(from: from, to: from, epoch: 3)), "from == to")
        var zeroFrom = valid
        zeroFrom[3] = 0
        assertRefused(zeroFrom, "from 0")
        // A heartbeat whose term is at the limit.
        var w = ByteWriter()
        w.u16(ShardBatchCodec.magic); w.u8(1); w.varint(1); w.varint(2); w.u64(3)
        w.varint(1); w.varint(0); w.varint(Term.limit); w.varint(0)
        w.varint(0); w.varint(0); w.varint(0)
        assertRefused(w.bytes, "term at the limit")
        // A count larger than the bytes left could hold.
        var counts = ByteWriter()
        counts.u16(ShardBatchCodec.magic); counts.u8(1); counts.varint(1); counts.varint(2); counts.u64(3)
        counts.varint(UInt64(ShardBatchCodec.maxItems))
        assertRefused(counts.bytes, "count beyond the input")
    }

    // MARK: totality

    /// Whatever decodes holds only what the codec promises: well-formed messages from `from`
    /// to `to`, shards below the limit, and it re-encodes to something that decodes the same.
    private func checkDecodes(_ input: [UInt8], accepted: inout Int) {
        guard let b = try? ShardBatchCodec.decode(input) else { return }
        accepted += 1
        XCTAssertNotEqual(b.from, b.to)
        for (shard, m) in b.expanded {
            XCTAssertLessThan(Int(shard.value), ShardBatchCodec.maxShards)
            XCTAssertTrue(m.isWellFormed, "\(m)")
            XCTAssertEqual(m.from, b.from)
            XCTAssertEqual(m.to, b.to)
        }
        for r in b.removals {
            XCTAssertLessThan(Int(r.shard.value), ShardBatchCodec.maxShards)
            XCTAssertLessThan(r.term.value, Term.limit)
            XCTAssertLessThan(r.index.value, LogIndex.limit)
        }
        XCTAssertEqual(try? ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
    }

    func testDecode_isTotal_onTruncationsBitFlipsAndRandomBytes() {
        var gen = BatchGenerator(seed: 2_024)
        var rng = SeededRandom(seed: 99)
        var inputs = 0, accepted = 0
        while inputs < 120_000 {
            let b = gen.batch(maxMessages: 5)
            let valid = ShardBatchCodec.encode(b)
            let header = Array(ShardBatchCodec.encode(ShardBatch(from: b.from, to: b.to, epoch: b.epoch)).dropLast(4))
            // Every kind of damage once per valid batch.
            var damaged: [[UInt8]] = []
            damaged.append(Array(valid.prefix(rng.below(valid.count))))
            for flips in 1...3 {
                var x = valid
                for _ in 0..<flips { x[rng.below(x.count)] ^= UInt8(1) << UInt8(rng.below(8)) }
                damaged.append(x)
            }
            var byte = valid
            byte[rng.below(byte.count)] = UInt8(truncatingIfNeeded: rng.next())
            damaged.append(byte)
            damaged.append(header + (0..<rng.below(48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            // Small counts after the header make it past the count checks more often.
            damaged.append(header + (0..<rng.below(48)).map { _ in UInt8(rng.below(4)) })
            var spliced = valid
            let at = rng.below(spliced.count + 1)
            spliced.insert(contentsOf: (0..<1 + rng.below(4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            damaged.append(spliced)
            var cut = valid
            let start = rng.below(cut.count)
            cut.removeSubrange(start..<min(cut.count, start + 1 + rng.below(6)))
            damaged.append(cut)
            damaged.append((0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            for input in damaged { checkDecodes(input, accepted: &accepted) }
            inputs += damaged.count
        }
        XCTAssertGreaterThanOrEqual(inputs, 100_000)
        // Sanity: the mutations are not all refused at the first byte.
        XCTAssertGreaterThan(accepted, 1_000, "damaged inputs that still decode: \(accepted) of \(inputs)")
    }
}
