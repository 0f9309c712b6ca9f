import ChorusRaft
import ChorusRing
import ChorusWire

/// The wire format of a `ShardBatch`, versions 1 to 3. It travels as one length-prefixed TCP
/// frame on the peer connection the membership layer already keeps; the magic tells it apart
/// from membership packets ("CH").
///
/// ```
/// batch = magic u16 "SB" · version u8 (1, 2 or 3) · from · to · epoch u64
///       · count · count × (shard · term · commit)      coalesced heartbeats
///       · count · count × (shard · term)               coalesced heartbeat answers
///       · count · count × (shard · message bytes)      other messages (RaftCodec, blob)
///       · count · count × (shard · term · index)       removal notices
///   versions 2 and 3:
///       · count · count × (shard · index · received)   snapshot chunk answers
///       · count · count × (shard · term · index · snapshot term · total bytes
///                          · checksum u32 · offset · bytes blob)   snapshot chunks
///   version 3 only:
///       · count · count × (shard · term · commit)      quiescent heartbeats
/// ```
/// Integers are varints unless marked. Each batch is written in the lowest version that holds
/// it: without quiescent heartbeats as version 2, and without snapshot items as version 1, so
/// a node that reads only versions 1 and 2 misses nothing but the quiescence hints (its
/// groups stay awake and keep working). Invariant: `decode` is total — a batch it returns
/// holds only well-formed messages from `from` to `to` for shards below `maxShards`, and
/// chunks that lie inside their image; any other input is a `WireError`.
public enum ShardBatchCodec {
    public static let magic: UInt16 = 0x5342 // "SB"
    public static let version: UInt8 = 3
    /// Shard numbers accepted (PlacementSettings.shardLimit's upper bound).
    public static let maxShards = 65_536
    /// Entries of each list in one batch.
    public static let maxItems = 1 << 20

    /// True when `bytes` starts like a shard batch (cheap dispatch before decoding).
    public static func isBatch(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(magic >> 8) && bytes[1] == UInt8(magic & 0xFF)
    }

    public static func encode(_ b: ShardBatch) -> [UInt8] {
        var w = ByteWriter(capacity: 32 + 12 * (b.heartbeats.count + b.heartbeatResponses.count) + 64 * b.messages.count)
        let quiescence = !b.quiescentHeartbeats.isEmpty
        let snapshots = quiescence || !b.snapshotChunks.isEmpty || !b.snapshotAcks.isEmpty
        w.u16(magic)
        w.u8(quiescence ? 3 : snapshots ? 2 : 1)
        w.varint(b.from.value)
        w.varint(b.to.value)
        w.u64(b.epoch)
        w.varint(UInt64(b.heartbeats.count))
        for h in b.heartbeats { w.varint(UInt64(h.shard.value)); w.varint(h.term.value); w.varint(h.commit.value) }
        w.varint(UInt64(b.heartbeatResponses.count))
        for r in b.heartbeatResponses { w.varint(UInt64(r.shard.value)); w.varint(r.term.value) }
        w.varint(UInt64(b.messages.count))
        for (shard, m) in b.messages { w.varint(UInt64(shard.value)); w.blob(RaftCodec.encode(m)) }
        w.varint(UInt64(b.removals.count))
        for n in b.removals { w.varint(UInt64(n.shard.value)); w.varint(n.term.value); w.varint(n.index.value) }
        if snapshots {
            w.varint(UInt64(b.snapshotAcks.count))
            for a in b.snapshotAcks { encode(a, into: &w) }
            w.varint(UInt64(b.snapshotChunks.count))
            for c in b.snapshotChunks { encode(c, into: &w) }
        }
        if quiescence {
            w.varint(UInt64(b.quiescentHeartbeats.count))
            for h in b.quiescentHeartbeats { w.varint(UInt64(h.shard.value)); w.varint(h.term.value); w.varint(h.commit.value) }
        }
        return w.bytes
    }

    static func encode(_ a: SnapshotChunkAck, into w: inout ByteWriter) {
        w.varint(UInt64(a.shard.value)); w.varint(a.index.value); w.varint(a.received)
    }

    static func encode(_ c: SnapshotChunk, into w: inout ByteWriter) {
        w.varint(UInt64(c.shard.value)); w.varint(c.term.value); w.varint(c.index.value); w.varint(c.snapshotTerm.value)
        w.varint(c.totalBytes); w.u32(c.checksum); w.varint(c.offset); w.blob(c.bytes)
    }

    public static func decode(_ bytes: [UInt8], limits: RaftCodec.Limits = RaftCodec.Limits()) throws(WireError) -> ShardBatch {
        var r = ByteReader(bytes)
        guard try r.u16() == magic else { throw .invalid(field: "magic", reason: "not a shard batch") }
        let v = try r.u8()
        guard (1...3).contains(v) else { throw .invalid(field: "version", reason: "\(v) unsupported") }
        guard let from = NodeID(encoded: try r.varint()) else { throw .invalid(field: "from", reason: "0") }
        guard let to = NodeID(encoded: try r.varint()) else { throw .invalid(field: "to", reason: "0") }
        guard from != to else { throw .invalid(field: "to", reason: "same as from") }
        var batch = ShardBatch(from: from, to: to, epoch: try r.u64())
        batch.heartbeats = try heartbeats(&r, field: "heartbeat")
        let answers = try r.count("heartbeat answers", limit: min(maxItems, r.remaining / 2))
        batch.heartbeatResponses.reserveCapacity(answers)
        for _ in 0..<answers {
            let shard = try self.shard(&r)
            let term = try r.varint()
            guard term < Term.limit else { throw .invalid(field: "heartbeat answer", reason: "term out of range") }
            batch.heartbeatResponses.append(.init(shard: shard, term: Term(term)))
        }
        let messages = try r.count("messages", limit: min(maxItems, r.remaining / 2))
        for _ in 0..<messages {
            let shard = try self.shard(&r)
            let m = try RaftCodec.decode(try r.blob("message", limit: r.remaining), limits: limits)
            guard m.from == from, m.to == to else { throw .invalid(field: "message", reason: "sender or receiver differs from the batch's") }
            batch.messages.append((shard, m))
        }
        let removals = try r.count("removals", limit: min(maxItems, r.remaining / 3))
        for _ in 0..<removals {
            let shard = try self.shard(&r)
            let term = try r.varint(), index = try r.varint()
            guard term < Term.limit, index < LogIndex.limit else { throw .invalid(field: "removal", reason: "term or index out of range") }
            batch.removals.append(.init(shard: shard, term: Term(term), index: LogIndex(index)))
        }
        if v >= 2 {
            let acks = try r.count("snapshot answers", limit: min(maxItems, r.remaining / 3))
            for _ in 0..<acks {
                let shard = try self.shard(&r)
                let index = try r.varint(), received = try r.varint()
                guard index < LogIndex.limit, received < LogIndex.limit else { throw .invalid(field: "snapshot answer", reason: "index or length out of range") }
                batch.snapshotAcks.append(.init(shard: shard, index: LogIndex(index), received: received))
            }
            let chunks = try r.count("snapshot chunks", limit: min(maxItems, r.remaining / 12))
            for _ in 0..<chunks { batch.snapshotChunks.append(try chunk(&r, limits: limits)) }
        }
        if v == 3 { batch.quiescentHeartbeats = try heartbeats(&r, field: "quiescent heartbeat") }
        try r.expectEnd()
        return batch
    }

    /// A count and that many `(shard · term · commit)` triples.
    private static func heartbeats(_ r: inout ByteReader, field: String) throws(WireError) -> [ShardBatch.Heartbeat] {
        let count = try r.count(field + "s", limit: min(maxItems, r.remaining / 3))
        var out: [ShardBatch.Heartbeat] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let shard = try self.shard(&r)
            let term = try r.varint(), commit = try r.varint()
            guard term < Term.limit, commit < LogIndex.limit else { throw .invalid(field: field, reason: "term or commit out of range") }
            out.append(.init(shard: shard, term: Term(term), commit: LogIndex(commit)))
        }
        return out
    }

    private static func chunk(_ r: inout ByteReader, limits: RaftCodec.Limits) throws(WireError) -> SnapshotChunk {
        let shard = try self.shard(&r)
        let term = try r.varint(), index = try r.varint(), snapshotTerm = try r.varint(), total = try r.varint()
        let checksum = try r.u32()
        let offset = try r.varint()
        let bytes = try r.blob("snapshot chunk", limit: limits.maxSnapshotBytes)
        guard term < Term.limit, index < LogIndex.limit, snapshotTerm <= term, total < LogIndex.limit, offset <= total,
              UInt64(bytes.count) <= total - offset else {
            throw .invalid(field: "snapshot chunk", reason: "fields out of range or outside the image")
        }
        return SnapshotChunk(shard: shard, term: Term(term), index: LogIndex(index), snapshotTerm: Term(snapshotTerm),
                             totalBytes: total, checksum: checksum, offset: offset, bytes: bytes)
    }

    private static func shard(_ r: inout ByteReader) throws(WireError) -> ShardID {
        let s = try r.varint()
        guard s < UInt64(maxShards) else { throw .invalid(field: "shard", reason: "\(s) ≥ \(maxShards)") }
        return ShardID(UInt32(s))
    }
}
