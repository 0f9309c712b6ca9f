import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusWire
import Testing
@testable import ChorusNode

/// The peer RPC codec: every message round-trips, and no input — random bytes or mutations
/// of valid messages — makes the decoder trap.
@Suite struct PeerMessageCodecTests {
    static func session(_ i: UInt64) -> SessionID { SessionID(home: UInt16(i % 7), index: 100 + i, openedAtMillis: 1_700_000_000_000 + i) }

    static func samples() throws -> [PeerMessage] {
        let name = try LockName("orders/42"), id = try RequestID("r-1")
        let view = LockView(name: name, holders: [.init(session: session(1), mode: .shared, token: FencingToken(9))],
                            waiters: [.init(session: session(2), mode: .exclusive, requestID: id)])
        let report = ShardReport(shard: 3, voters: ["a", "b"], learners: ["c"], leader: "a", term: 4, commitIndex: 10, appliedIndex: 9,
                                 reportedBy: "b")
        let requests: [PeerRequest] = [
            .client(.kvGet(key: [1, 2, 3])), .client(.kvPut(key: [65], value: [0, 255], requestID: [7])),
            .client(.kvDelete(key: [66], requestID: [])), .client(.openSession(ttlMillis: 5_000, requestID: id)),
            .client(.keepAlive(session(3))), .client(.closeSession(session(4), requestID: id)),
            .client(.acquire(name: name, session: session(5), mode: .shared, waitMillis: 250, requestID: id)),
            .client(.release(name: name, session: session(6), requestID: id)), .client(.lockStatus(name)),
            .client(.lockList(prefix: "ord", localOnly: true)), .client(.shardList(localOnly: false)),
            .propose(shard: ShardID(5), requestID: [1, 2], command: [3, 4, 5]), .sessionState(session(7)), .dropSession(session(8)),
            .deadlockReport(shard: 2, epoch: 1 << 40, edges: [WaitEdge(waiter: session(1), blocker: session(2), name: name, requestID: id)]),
            .deadlockRefresh(shard: 9, epoch: 77),
        ]
        let replies: [PeerReply] = [
            .client(.kvWritten(key: [1], shard: ShardID(2), index: 3)), .client(.kvValue(key: [1], shard: ShardID(2), value: [9])),
            .client(.sessionOpened(session(1), ttlMillis: 10)), .client(.sessionAlive(session(1), ttlMillis: 10)),
            .client(.sessionClosed(session(1))), .client(.granted(name: name, mode: .exclusive, token: FencingToken(12))),
            .client(.released), .client(.lock(view)), .client(.locks([view, view])), .client(.shards([report])),
            .client(.failure(ClientFailure(code: .deadlock, message: "cycle"))), .applied([1, 2, 3]), .sessionState(.expiring),
            .dropped([1, 4, 9]), .reportTaken(epoch: 5), .done, .notLeader(hint: NodeID(3)), .notLeader(hint: nil),
            .refused(.overloaded), .refused(.foreignShardSet),
        ]
        var out: [PeerMessage] = []
        for (i, r) in requests.enumerated() { out.append(PeerMessage(callID: UInt64(i), origin: NodeID(7), budgetMillis: 1_000, body: .request(r))) }
        for (i, r) in replies.enumerated() { out.append(PeerMessage(callID: UInt64(i), origin: NodeID(8), budgetMillis: 0, body: .reply(r))) }
        return out
    }

    @Test func everyMessage_roundTrips() throws {
        for m in try PeerMessageCodecTests.samples() {
            #expect(try PeerMessageCodec.decode(PeerMessageCodec.encode(m)) == m)
        }
    }

    @Test func truncatedOrExtendedMessages_areRefused() throws {
        for m in try PeerMessageCodecTests.samples() {
            let bytes = PeerMessageCodec.encode(m)
            for cut in 0..<bytes.count { #expect(throws: WireError.self) { try PeerMessageCodec.decode(Array(bytes[..<cut])) } }
            #expect(throws: WireError.self) { try PeerMessageCodec.decode(bytes + [0]) }
        }
    }

    /// 100,000 random and mutated inputs: the decoder answers each with a message or a
    /// `WireError`, never a trap; whatever it accepts encodes back to a message that decodes
    /// to the same value.
    @Test func fuzz_randomAndMutatedInputs_neverTrap() throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        let seeds = try PeerMessageCodecTests.samples().map(PeerMessageCodec.encode)
        var accepted = 0
        for i in 0..<100_000 {
            var bytes: [UInt8]
            if i % 4 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if i % 8 == 0, bytes.count >= 3 { bytes[0] = 0x4E; bytes[1] = 0x52; bytes[2] = 1 }
            } else {
                bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    guard !bytes.isEmpty else { break }
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 4 {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.remove(at: at)
                    case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    default: bytes[at] ^= 0x80
                    }
                }
            }
            if let m = try? PeerMessageCodec.decode(bytes) {
                accepted += 1
                #expect(try PeerMessageCodec.decode(PeerMessageCodec.encode(m)) == m)
            }
        }
        #expect(accepted > 0)
    }
}
