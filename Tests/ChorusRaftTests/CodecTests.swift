import ChorusBase
import ChorusWire
import Foundation
import Testing
@testable import ChorusRaft

/// Random well-formed messages for round trips and as seeds for mutation.
struct MessageGenerator {
    var rng: SeededRandom

    mutating func id() -> NodeID { NodeID(UInt64(1 + rng.below(rng.below(2) == 0 ? 7 : 1_000_000))) }
    mutating func small() -> UInt64 { rng.below(4) == 0 ? rng.next() % Term.limit : UInt64(rng.below(50)) }
    mutating func bytes(_ max: Int) -> [UInt8] { (0..<rng.below(max + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    mutating func configuration() -> Configuration {
        let ids = (0..<rng.below(6)).map { _ in id() }
        let split = rng.below(ids.count + 1)
        return Configuration(voters: Array(ids[..<split]), learners: Array(ids[split...]))
    }
    mutating func payload() -> EntryPayload {
        switch rng.below(3) {
        case 0: return .noop
        case 1: return .command(bytes(40))
        default: return .configuration(configuration())
        }
    }

    mutating func message() -> Message {
        let term = Term(small() + 1)
        let body: MessageBody
        switch rng.below(10) {
        case 0: body = .voteRequest(VoteRequest(lastIndex: LogIndex(small()), lastTerm: Term(small()), preVote: rng.below(2) == 0, transfer: rng.below(2) == 0))
        case 1: body = .voteResponse(VoteResponse(granted: rng.below(2) == 0, preVote: rng.below(2) == 0))
        case 2:
            let prevIndex = LogIndex(UInt64(rng.below(100)))
            let prevTerm = Term(UInt64(rng.below(Int(term.value) + 1)))
            var t = prevTerm
            var entries: [Entry] = []
            for i in 0..<rng.below(5) {
                t = Term(t.value + UInt64(rng.below(2)))
                if t > term { t = term }
                entries.append(Entry(index: prevIndex + (i + 1), term: t, payload: payload()))
            }
            body = .appendEntries(AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: LogIndex(small())))
        case 3: body = .appendResponse(AppendResponse(reject: rng.below(2) == 0, index: LogIndex(small()), hintIndex: LogIndex(small()), hintTerm: Term(small())))
        case 4: body = .heartbeat(Heartbeat(commit: LogIndex(small()), context: bytes(8)))
        case 5: body = .heartbeatResponse(HeartbeatResponse(context: bytes(8)))
        case 6: body = .installSnapshot(Snapshot(metadata: SnapshotMetadata(index: LogIndex(small()), term: Term(UInt64(rng.below(Int(term.value) + 1))), configuration: configuration()), data: bytes(30)))
        case 7: body = .timeoutNow
        case 8: body = .readIndex(ReadIndexRequest(context: [1] + bytes(8)))
        default: body = .readIndexResponse(ReadIndexResponse(index: LogIndex(small()), context: bytes(8)))
        }
        return Message(from: id(), to: id(), term: term, body: body)
    }
}

@Suite struct CodecTests {
    @Test func everyMessageKind_roundTrips() throws {
        var gen = MessageGenerator(rng: SeededRandom(seed: 1))
        for _ in 0..<5_000 {
            let m = gen.message()
            #expect(m.isWellFormed)
            let decoded = try RaftCodec.decode(RaftCodec.encode(m))
            #expect(decoded == m)
        }
    }

    @Test func payloadsAndImages_roundTrip() throws {
        var gen = MessageGenerator(rng: SeededRandom(seed: 2))
        for _ in 0..<500 {
            let p = gen.payload()
            #expect(try RaftCodec.decodePayload(RaftCodec.encode(p)) == p)
            let s = Snapshot(metadata: SnapshotMetadata(index: LogIndex(9), term: Term(3), configuration: gen.configuration()), data: gen.bytes(20))
            #expect(try RaftCodec.decodeImage(RaftCodec.encodeImage(s), index: LogIndex(9), term: Term(3)) == s)
        }
    }

    @Test func hostileInputs_areRefusedWithErrors() {
        // Wrong magic, unknown version and kind, node id 0, term at the limit, unknown flag
        // bits, an entry count far beyond the input, entries whose terms go backwards.
        var base = ByteWriter()
        base.u16(RaftCodec.magic); base.u8(1)
        let header = base.bytes
        let cases: [[UInt8]] = [
            [], [0x52], [0, 0, 1, 1, 1, 2, 1],
            [0x52, 0x46, 9, 1, 1, 2, 1],
            header + [99, 1, 2, 1],
            header + [8, 0, 2, 1],
            header + [8, 1, 2] + varint(Term.limit),
            header + [2, 1, 2, 1, 0x80],
            header + [3, 1, 2, 5, 0, 0, 0] + varint(1 << 40),
            header + [3, 1, 2, 5, 0, 4, 0, 2, 3, 0, 2, 0], // terms 3 then 2
            header + [3, 1, 2, 5, 0, 0, 0, 1, 9, 0],       // entry term 9 > message term 5
            header + [8, 1, 2, 1, 0],                      // trailing byte
            header + [7, 1, 2, 1, 0, 0, 2, 2, 1, 0, 0],    // voters not increasing
            header + [7, 1, 2, 1, 0, 0, 1, 2, 1, 2, 0],    // 2 both voter and learner
        ]
        for bytes in cases {
            #expect(throws: WireError.self) { try RaftCodec.decode(bytes) }
        }
    }

    private func varint(_ v: UInt64) -> [UInt8] { var w = ByteWriter(); w.varint(v); return w.bytes }

    /// Requirement: ≥ 50,000 random and mutated inputs. None traps; whatever decodes is
    /// well-formed, re-encodes to something that decodes to the same message, and can be
    /// stepped into a follower and a leader without trapping.
    @Test func fuzz_randomAndMutatedInputs_neverTrap() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["CHORUS_RAFT_FUZZ"] ?? "") ?? 60_000
        var gen = MessageGenerator(rng: SeededRandom(seed: 3))
        var rng = SeededRandom(seed: 4)
        let net = Network(3)
        net.campaign(1)
        for i in 0..<20 { _ = try? net.propose(1, "v\(i)") }
        var leader = net[1], follower = net[2]
        var decodedCount = 0
        for round in 0..<rounds {
            var bytes = RaftCodec.encode(gen.message())
            switch round % 4 {
            case 0:
                bytes = (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if rng.below(2) == 0 { bytes = [0x52, 0x46, 1, UInt8(1 + rng.below(10))] + bytes }
            case 1:
                for _ in 0..<(1 + rng.below(4)) where !bytes.isEmpty {
                    bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8))
                }
            case 2:
                if !bytes.isEmpty { bytes = Array(bytes[..<rng.below(bytes.count)]) }
            default:
                let at = rng.below(bytes.count + 1)
                bytes.insert(contentsOf: (0..<(1 + rng.below(6))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            }
            guard let m = try? RaftCodec.decode(bytes) else { continue }
            decodedCount += 1
            #expect(m.isWellFormed)
            #expect(try RaftCodec.decode(RaftCodec.encode(m)) == m)
            // Readdressed so the nodes do not just drop it as misaddressed.
            var toLeader = m; toLeader.to = NodeID(1)
            var toFollower = m; toFollower.to = NodeID(2)
            if toLeader.from != toLeader.to { leader.step(toLeader) }
            if toFollower.from != toFollower.to { follower.step(toFollower) }
            if leader.hasReady { let r = leader.ready(); leader.advance(r) }
            if follower.hasReady { let r = follower.ready(); follower.advance(r) }
            if round % 5_000 == 0 { leader = net[1]; follower = net[2] }
        }
        #expect(rounds < 50_000 || decodedCount > 1_000)
    }
}
