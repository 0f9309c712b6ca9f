import ChorusRaft
import ChorusWire

/// One `ShardBatch` as several frames when it would not fit one. Catching up many groups at
/// once can put a megabyte of entries per group in one batch; sent as one frame, it would
/// exceed the stream's frame limit and be refused whole, taking every group's heartbeats with
/// it, turn after turn.
///
/// Each frame is a complete batch in the version-1 format (`ShardBatchCodec`), so a receiver
/// needs nothing new. Invariants: the frames carry every heartbeat, answer, removal notice and
/// message of the batch exactly once, each list in its order; the coalesced heartbeats, their
/// answers and the removal notices come first, so they share the first frame whenever they
/// fit in it; every frame is at most `maxFrameBytes` long unless a single message alone is
/// larger — that message travels alone, in a frame the transport will refuse (report it with
/// `ShardHost.reportUnreachable(peer:)`), and delays nothing else.
extension ShardBatchCodec {
    /// Header bytes (magic, version, from, to, epoch) plus four list counts at their widest.
    static func frameOverhead(_ b: ShardBatch) -> Int {
        2 + 1 + ByteWriter.varintSize(b.from.value) + ByteWriter.varintSize(b.to.value) + 8
            + 4 * ByteWriter.varintSize(UInt64(maxItems))
    }

    /// `b` encoded as one or more frames of at most `maxFrameBytes` bytes each (see the type's
    /// invariants), in the order they must be sent.
    public static func frames(_ b: ShardBatch, maxFrameBytes: Int = Frame.defaultMaxBytes) -> [[UInt8]] {
        let messages = b.messages.map { item -> [UInt8] in
            let encoded = RaftCodec.encode(item.message)
            var w = ByteWriter(capacity: encoded.count + 8)
            w.varint(UInt64(item.shard.value))
            w.blob(encoded)
            return w.bytes
        }
        // Sections in packing order: heartbeats, answers, removals, messages.
        let sizes: [[Int]] = [
            b.heartbeats.map { ByteWriter.varintSize(UInt64($0.shard.value)) + ByteWriter.varintSize($0.term.value) + ByteWriter.varintSize($0.commit.value) },
            b.heartbeatResponses.map { ByteWriter.varintSize(UInt64($0.shard.value)) + ByteWriter.varintSize($0.term.value) },
            b.removals.map { ByteWriter.varintSize(UInt64($0.shard.value)) + ByteWriter.varintSize($0.term.value) + ByteWriter.varintSize($0.index.value) },
            messages.map(\.count),
        ]
        let overhead = frameOverhead(b)
        var plans: [[Range<Int>]] = []
        var current = [0..<0, 0..<0, 0..<0, 0..<0]
        var size = overhead
        var items = 0
        for section in sizes.indices {
            for (i, itemSize) in sizes[section].enumerated() {
                if items > 0, size + itemSize > maxFrameBytes || current[section].count == maxItems {
                    plans.append(current)
                    current = [0..<0, 0..<0, 0..<0, 0..<0]
                    current[section] = i..<i
                    size = overhead
                    items = 0
                }
                current[section] = current[section].lowerBound..<(i + 1)
                size += itemSize
                items += 1
            }
        }
        if items > 0 || plans.isEmpty { plans.append(current) }
        return plans.map { plan in
            let bytes = plan[3].reduce(0) { $0 + messages[$1].count }
            var w = ByteWriter(capacity: overhead + 12 * (plan[0].count + plan[1].count + plan[2].count) + bytes)
            w.u16(magic)
            w.u8(version)
            w.varint(b.from.value)
            w.varint(b.to.value)
            w.u64(b.epoch)
            w.varint(UInt64(plan[0].count))
            for h in b.heartbeats[plan[0]] { w.varint(UInt64(h.shard.value)); w.varint(h.term.value); w.varint(h.commit.value) }
            w.varint(UInt64(plan[1].count))
            for r in b.heartbeatResponses[plan[1]] { w.varint(UInt64(r.shard.value)); w.varint(r.term.value) }
            w.varint(UInt64(plan[3].count))
            for m in messages[plan[3]] { w.raw(m) }
            w.varint(UInt64(plan[2].count))
            for n in b.removals[plan[2]] { w.varint(UInt64(n.shard.value)); w.varint(n.term.value); w.varint(n.index.value) }
            return w.bytes
        }
    }
}
