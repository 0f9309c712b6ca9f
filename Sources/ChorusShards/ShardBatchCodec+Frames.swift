import ChorusRaft
import ChorusWire

/// One `ShardBatch` as several frames when it would not fit one. Catching up many groups at
/// once can put a megabyte of entries per group in one batch; sent as one frame, it would
/// exceed the stream's frame limit and be refused whole, taking every group's heartbeats with
/// it, turn after turn.
///
/// Each frame is a complete batch in the lowest version that holds it (`ShardBatchCodec`), so a
/// receiver needs nothing new. Invariants: the frames carry every item of the batch exactly once, each
/// list in its order; the small items — coalesced heartbeats, their answers, removal notices
/// and snapshot chunk answers — come first, so they share the first frame whenever they fit
/// in it, and snapshot chunks come last; every frame is at most `maxFrameBytes` long unless a single message alone is
/// larger — that item travels alone, in a frame the transport will refuse (report it with
/// `ShardHost.reportUnreachable(peer:)`), and delays nothing else.
extension ShardBatchCodec {
    /// Header bytes (magic, version, from, to, epoch) plus seven list counts at their widest.
    static func frameOverhead(_ b: ShardBatch) -> Int {
        2 + 1 + ByteWriter.varintSize(b.from.value) + ByteWriter.varintSize(b.to.value) + 8
            + Section.allCases.count * ByteWriter.varintSize(UInt64(maxItems))
    }

    /// Sections in packing order: the small ones first.
    enum Section: Int, CaseIterable { case heartbeats, quiescent, answers, removals, snapshotAcks, messages, snapshotChunks }

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
        let chunks = b.snapshotChunks.map { c -> [UInt8] in
            var w = ByteWriter(capacity: c.bytes.count + 48)
            encode(c, into: &w)
            return w.bytes
        }
        func size(_ values: UInt64...) -> Int { values.reduce(0) { $0 + ByteWriter.varintSize($1) } }
        var sizes: [[Int]] = Array(repeating: [], count: Section.allCases.count)
        sizes[Section.heartbeats.rawValue] = b.heartbeats.map { size(UInt64($0.shard.value), $0.term.value, $0.commit.value) }
        sizes[Section.quiescent.rawValue] = b.quiescentHeartbeats.map { size(UInt64($0.shard.value), $0.term.value, $0.commit.value) }
        sizes[Section.answers.rawValue] = b.heartbeatResponses.map { size(UInt64($0.shard.value), $0.term.value) }
        sizes[Section.removals.rawValue] = b.removals.map { size(UInt64($0.shard.value), $0.term.value, $0.index.value) }
        sizes[Section.snapshotAcks.rawValue] = b.snapshotAcks.map { size(UInt64($0.shard.value), $0.index.value, $0.received) }
        sizes[Section.messages.rawValue] = messages.map(\.count)
        sizes[Section.snapshotChunks.rawValue] = chunks.map(\.count)

        let overhead = frameOverhead(b)
        let empty = Array(repeating: 0..<0, count: Section.allCases.count)
        var plans: [[Range<Int>]] = []
        var current = empty
        var bytes = overhead
        var items = 0
        for section in sizes.indices {
            for (i, itemSize) in sizes[section].enumerated() {
                if items > 0, bytes + itemSize > maxFrameBytes || current[section].count == maxItems {
                    plans.append(current)
                    current = empty
                    current[section] = i..<i
                    bytes = overhead
                    items = 0
                }
                current[section] = current[section].lowerBound..<(i + 1)
                bytes += itemSize
                items += 1
            }
        }
        if items > 0 || plans.isEmpty { plans.append(current) }
        return plans.map { plan in
            func range(_ s: Section) -> Range<Int> { plan[s.rawValue] }
            let quiescence = !range(.quiescent).isEmpty
            let snapshots = quiescence || !range(.snapshotAcks).isEmpty || !range(.snapshotChunks).isEmpty
            let payload = range(.messages).reduce(0) { $0 + messages[$1].count } + range(.snapshotChunks).reduce(0) { $0 + chunks[$1].count }
            var w = ByteWriter(capacity: overhead + 12 * plan.reduce(0) { $0 + $1.count } + payload)
            w.u16(magic)
            w.u8(quiescence ? 3 : snapshots ? 2 : 1)
            w.varint(b.from.value)
            w.varint(b.to.value)
            w.u64(b.epoch)
            w.varint(UInt64(range(.heartbeats).count))
            for h in b.heartbeats[range(.heartbeats)] { w.varint(UInt64(h.shard.value)); w.varint(h.term.value); w.varint(h.commit.value) }
            w.varint(UInt64(range(.answers).count))
            for r in b.heartbeatResponses[range(.answers)] { w.varint(UInt64(r.shard.value)); w.varint(r.term.value) }
            w.varint(UInt64(range(.messages).count))
            for m in messages[range(.messages)] { w.raw(m) }
            w.varint(UInt64(range(.removals).count))
            for n in b.removals[range(.removals)] { w.varint(UInt64(n.shard.value)); w.varint(n.term.value); w.varint(n.index.value) }
            if snapshots {
                w.varint(UInt64(range(.snapshotAcks).count))
                for a in b.snapshotAcks[range(.snapshotAcks)] { encode(a, into: &w) }
                w.varint(UInt64(range(.snapshotChunks).count))
                for c in chunks[range(.snapshotChunks)] { w.raw(c) }
            }
            if quiescence {
                w.varint(UInt64(range(.quiescent).count))
                for h in b.quiescentHeartbeats[range(.quiescent)] { w.varint(UInt64(h.shard.value)); w.varint(h.term.value); w.varint(h.commit.value) }
            }
            return w.bytes
        }
    }
}
