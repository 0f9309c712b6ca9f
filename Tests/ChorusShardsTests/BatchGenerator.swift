import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards

/// Random well-formed Raft messages and shard batches from a seeded generator, for round trips
/// and as seeds for mutation.
struct BatchGenerator {
    var rng: SeededRandom

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func chance(_ n: Int) -> Bool { rng.below(n) == 0 }
    /// Mostly small values, sometimes anything below the limit (multi-byte varints).
    mutating func number(below limit: UInt64 = Term.limit) -> UInt64 {
        chance(5) ? rng.next() % limit : UInt64(rng.below(60))
    }
    mutating func bytes(_ max: Int) -> [UInt8] { (0..<rng.below(max + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    mutating func id() -> NodeID { NodeID(UInt64(1 + rng.below(chance(2) ? 9 : 100_000))) }
    mutating func shard() -> ShardID { ShardID(UInt32(chance(8) ? 65_535 - rng.below(3) : rng.below(chance(2) ? 8 : 65_536))) }

    mutating func configuration() -> Configuration {
        let ids = (0..<rng.below(6)).map { _ in id() }
        let split = rng.below(ids.count + 1)
        return Configuration(voters: Array(ids[..<split]), learners: Array(ids[split...]))
    }

    mutating func payload() -> EntryPayload {
        switch rng.below(3) {
        case 0: return .noop
        case 1: return .command(bytes(24))
        default: return .configuration(configuration())
        }
    }

    /// A well-formed message between `from` and `to`: of `kind` (0...9, the order of
    /// `MessageBody`'s cases) or any kind. Heartbeats and their answers carry a ReadIndex
    /// context half of the time.
    mutating func message(from: NodeID, to: NodeID, kind: Int? = nil) -> Message {
        let term = Term(number(below: Term.limit - 1) + 1)
        let body: MessageBody
        switch kind ?? rng.below(10) {
        case 0: body = .voteRequest(VoteRequest(lastIndex: LogIndex(number()), lastTerm: Term(number()), preVote: chance(2), transfer: chance(2)))
        case 1: body = .voteResponse(VoteResponse(granted: chance(2), preVote: chance(2)))
        case 2:
            let prevIndex = LogIndex(UInt64(rng.below(1_000)))
            let prevTerm = Term(UInt64(rng.below(Int(min(term.value, 1_000)) + 1)))
            var t = prevTerm
            var entries: [Entry] = []
            for i in 0..<rng.below(4) {
                t = min(term, Term(t.value + UInt64(rng.below(2))))
                entries.append(Entry(index: prevIndex + (i + 1), term: t, payload: payload()))
            }
            body = .appendEntries(AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: LogIndex(number())))
        case 3: body = .appendResponse(AppendResponse(reject: chance(2), index: LogIndex(number()), hintIndex: LogIndex(number()), hintTerm: Term(number())))
        case 4: body = .heartbeat(Heartbeat(commit: LogIndex(number()), context: chance(2) ? [] : [1] + bytes(8)))
        case 5: body = .heartbeatResponse(HeartbeatResponse(context: chance(2) ? [] : [1] + bytes(8)))
        case 6:
            let meta = SnapshotMetadata(index: LogIndex(number()), term: Term(UInt64(rng.below(Int(min(term.value, 1_000)) + 1))),
                                        configuration: configuration())
            body = .installSnapshot(Snapshot(metadata: meta, data: bytes(24)))
        case 7: body = .timeoutNow
        case 8: body = .readIndex(ReadIndexRequest(context: [1] + bytes(8)))
        default: body = .readIndexResponse(ReadIndexResponse(index: LogIndex(number()), context: bytes(8)))
        }
        return Message(from: from, to: to, term: term, body: body)
    }

    /// A batch of up to `maxMessages` random messages (plain heartbeats coalesced by
    /// `append`) and up to three removal notices.
    mutating func batch(maxMessages: Int = 8) -> ShardBatch {
        let from = id()
        var to = id()
        while to == from { to = id() }
        var b = ShardBatch(from: from, to: to, epoch: chance(4) ? 0 : rng.next())
        for _ in 0..<rng.below(maxMessages + 1) { b.append(message(from: from, to: to), shard: shard()) }
        for _ in 0..<rng.below(4) {
            b.removals.append(.init(shard: shard(), term: Term(number()), index: LogIndex(number())))
        }
        if chance(3) {
            for _ in 0..<rng.below(3) { b.snapshotAcks.append(.init(shard: shard(), index: LogIndex(number()), received: number())) }
            for _ in 0..<rng.below(3) {
                let data = bytes(40)
                let total = UInt64(data.count) + number(below: 1_000)
                let term = number(below: Term.limit - 1) + 1
                let slack = total - UInt64(data.count)
                b.snapshotChunks.append(SnapshotChunk(shard: shard(), term: Term(term), index: LogIndex(number()), snapshotTerm: Term(rng.next() % (term + 1)),
                                                      totalBytes: total, checksum: UInt32(truncatingIfNeeded: rng.next()),
                                                      offset: rng.next() % (slack + 1), bytes: data))
            }
        }
        return b
    }
}
