import ChorusRaft
import ChorusRing
import ChorusWire

/// The wire format of a `ShardBatch`, version 1. It travels as one length-prefixed TCP frame
/// on the peer connection the membership layer already keeps; the magic tells it apart from
/// membership packets ("CH").
///
/// ```
/// batch = magic u16 "SB" · version u8 = 1 · from · to · epoch u64
///       · count · count × (shard · term · commit)      coalesced heartbeats
///       · count · count × (shard · term)               coalesced heartbeat answers
///       · count · count × (shard · message bytes)      other messages (RaftCodec, blob)
///       · count · count × (shard · term · index)       removal notices
/// ```
/// Integers are varints unless marked. Invariant: `decode` is total — a batch it returns
/// holds only well-formed messages from `from` to `to` for shards below `maxShards`; any
/// other input is a `WireError`.
public enum ShardBatchCodec {
    public static let magic: UInt16 = 0x5342 // "SB"
    public static let version: UInt8 = 1
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
        w.u16(magic)
        w.u8(version)
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
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], limits: RaftCodec.Limits = RaftCodec.Limits()) throws(WireError) -> ShardBatch {
        var r = ByteReader(bytes)
        guard try r.u16() == magic else { throw .invalid(field: "magic", reason: "not a shard batch") }
        let v = try r.u8()
        guard v == version else { throw .invalid(field: "version", reason: "\(v) unsupported") }
        guard let from = NodeID(encoded: try r.varint()) else { throw .invalid(field: "from", reason: "0") }
        guard let to = NodeID(encoded: try r.varint()) else { throw .invalid(field: "to", reason: "0") }
        guard from != to else { throw .invalid(field: "to", reason: "same as from") }
        var batch = ShardBatch(from: from, to: to, epoch: try r.u64())
        let heartbeats = try r.count("heartbeats", limit: min(maxItems, r.remaining / 3))
        batch.heartbeats.reserveCapacity(heartbeats)
        for _ in 0..<heartbeats {
            let shard = try self.shard(&r)
            let term = try r.varint(), commit = try r.varint()
            guard term < Term.limit, commit < LogIndex.limit else { throw .invalid(field: "heartbeat", reason: "term or commit out of range") }
            batch.heartbeats.append(.init(shard: shard, term: Term(term), commit: LogIndex(commit)))
        }
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
        try r.expectEnd()
        return batch
    }

    private static func shard(_ r: inout ByteReader) throws(WireError) -> ShardID {
        let s = try r.varint()
        guard s < UInt64(maxShards) else { throw .invalid(field: "shard", reason: "\(s) ≥ \(maxShards)") }
        return ShardID(UInt32(s))
    }
}
