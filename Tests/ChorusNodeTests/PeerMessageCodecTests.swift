import ChorusBase
import ChorusCache
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusWire
import Foundation
import Testing
@testable import ChorusNode

/// The peer RPC codec: every message round-trips, and no input — random bytes or mutations
/// of valid messages — makes the decoder trap.
@Suite struct PeerMessageCodecTests {
    static func session(_ i: UInt64) -> SessionID { SessionID(home: UInt16(i % 7), index: 100 + i, openedAtMillis: 1_700_000_000_000 + i) }

    /// One coherence message of every kind (each rides a cache frame).
    static var cacheMessages: [CacheMessage] {
        let k = CacheKey("user/1"), tag = RequestTag(incarnation: 3, sequence: 44), txn = TxnID(epoch: 7, counter: 2)
        return [
            .getS(key: k, tag: tag, floor: 40), .getM(key: k, tag: tag, floor: 1, value: [1, 2]), .getM(key: k, tag: tag, floor: 1, value: nil),
            .upgrade(key: k, tag: tag, floor: 2, value: []), .putS(key: k, grant: txn), .putE(key: k, grant: txn),
            .putM(key: k, grant: txn, version: 9), .fwdGetS(key: k, txn: txn, requester: CacheNodeID(5), tag: tag),
            .fwdGetM(key: k, txn: txn, requester: CacheNodeID(5), tag: tag), .inv(key: k, txn: txn, requester: CacheNodeID(6), tag: tag),
            .invAck(key: k, tag: tag, acker: CacheNodeID(2)),
            .data(key: k, tag: tag, txn: txn, grant: .shared, ackCount: 2, version: 4, carriesValue: true, value: [8]),
            .data(key: k, tag: tag, txn: txn, grant: .modified, ackCount: 0, version: 5, carriesValue: false, value: nil),
            .putAck(key: k, grant: txn), .unblock(key: k, txn: txn), .nack(key: k, tag: tag),
        ]
    }

    static var metrics: CacheMetrics {
        var m = CacheMetrics()
        m.hits = 10; m.misses = 3; m.writes = 2; m.operations = 15; m.invalidationsSent = 4; m.invalidationsReceived = 1
        m.evictions = 1; m.expirations = 2; m.messagesSent = 30; m.retransmissions = 5; m.bytes = 4_096; m.directoryEntries = 7
        return m
    }

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
            .client(.cacheGet(key: [1])), .client(.cachePut(key: [2, 3], value: [])), .client(.cachePut(key: [2], value: [9, 9])),
            .client(.cacheDelete(key: [4])), .client(.cacheStats),
            .client(.cachePutExpiring(key: [5], value: [6], ttlMillis: 10_000)), .client(.cacheIncrement(key: [6], by: .min)),
            .client(.cacheIncrement(key: [6], by: .max)), .client(.cacheIncrement(key: [6], by: -1)),
        ]
        let replies: [PeerReply] = [
            .client(.kvWritten(key: [1], shard: ShardID(2), index: 3)), .client(.kvValue(key: [1], shard: ShardID(2), value: [9])),
            .client(.sessionOpened(session(1), ttlMillis: 10)), .client(.sessionAlive(session(1), ttlMillis: 10)),
            .client(.sessionClosed(session(1))), .client(.granted(name: name, mode: .exclusive, token: FencingToken(12))),
            .client(.released), .client(.lock(view)), .client(.locks([view, view])), .client(.shards([report])),
            .client(.failure(ClientFailure(code: .deadlock, message: "cycle"))), .applied([1, 2, 3]), .sessionState(.expiring),
            .dropped([1, 4, 9]), .reportTaken(epoch: 5), .done, .notLeader(hint: NodeID(3)), .notLeader(hint: nil),
            .refused(.overloaded), .refused(.foreignShardSet),
            .client(.cacheValue(key: [1], value: nil)), .client(.cacheValue(key: [1], value: [])), .client(.cacheValue(key: [1], value: [5])),
            .client(.cacheWritten(key: [7])), .client(.cacheStatistics(metrics)),
            .client(.cacheInteger(key: [7], value: .min)), .client(.cacheInteger(key: [7], value: 42)),
        ]
        var out: [PeerMessage] = []
        for (i, m) in cacheMessages.enumerated() {
            out.append(PeerMessage(callID: 0, origin: NodeID(9), budgetMillis: 0, body: .cache(life: UInt64(i) << 20, m)))
        }
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

    /// A cache frame names its own body version; an unknown one is refused, as is a frame
    /// whose coherence message is damaged.
    @Test func cacheFrame_withUnknownVersionOrDamagedMessage_isRefused() throws {
        let frame = PeerMessage(callID: 0, origin: NodeID(9), budgetMillis: 0, body: .cache(life: 1, .unblock(key: CacheKey("k"), txn: TxnID(epoch: 1, counter: 1))))
        var bytes = PeerMessageCodec.encode(frame)
        let header = 2 + 1 + 1 + 8 + 8 + 4
        #expect(bytes[3] == 3)
        #expect(bytes[header] == 2)
        for old in [UInt8(1), 3] {
            bytes[header] = old // version 1 carried plain values, not records
            #expect(throws: WireError.self) { try PeerMessageCodec.decode(bytes) }
        }
        bytes[header] = 2
        bytes[header + 2] = 9 // the coherence message's version
        #expect(throws: WireError.self) { try PeerMessageCodec.decode(bytes) }
    }

    /// Writes the corpus seed of cache frames for the fuzz target (run with
    /// `CHORUS_WRITE_CORPUS=1`); otherwise checks the seed in the repo still decodes.
    @Test func cacheFrameSeed_inTheFuzzCorpus_decodes() throws {
        let path = FuzzCorpusTests.corpusDirectory("peer-message").appendingPathComponent("cache-frames").path
        if ProcessInfo.processInfo.environment["CHORUS_WRITE_CORPUS"] != nil {
            let frame = PeerMessageCodec.encode(PeerMessage(callID: 0, origin: NodeID(9), budgetMillis: 0,
                                                            body: .cache(life: 2, PeerMessageCodecTests.cacheMessages[11])))
            _ = FileManager.default.createFile(atPath: path, contents: Data(frame))
        }
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(try PeerMessageCodec.decode(Array(bytes)).body != .request(.client(.cacheStats)))
    }
}
