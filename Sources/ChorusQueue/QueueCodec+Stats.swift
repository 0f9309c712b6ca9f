import ChorusWire

/// The binary form of `PartitionStats`, for the peer RPC that gathers a queue's statistics
/// from the leaders of its partitions.
///
/// ```
/// stats = ready · delayed · leased · deadLetters · bytes · oldest flag u8 · [oldest]
///       · lowestOffset · nextOffset · dedupIDs · 12 counters
/// ```
/// Invariant: `stats(&r)` is total; counts above 2^40 are refused (no partition holds that many).
extension QueueCodec {
    static let maxStatCount: UInt64 = 1 << 40

    public static func encode(_ s: PartitionStats, into w: inout ByteWriter) {
        for n in [s.ready, s.delayed, s.leased, s.deadLetters, s.bytes] { w.varint(UInt64(n)) }
        if let oldest = s.oldestPublishedAtMillis { w.u8(1); w.varint(oldest) } else { w.u8(0) }
        w.varint(s.lowestOffset); w.varint(s.nextOffset); w.varint(UInt64(s.dedupIDs))
        for c in s.counters.all { w.varint(c) }
    }

    public static func stats(_ r: inout ByteReader) throws(WireError) -> PartitionStats {
        var counts: [Int] = []
        for field in ["ready", "delayed", "leased", "dead letters", "bytes"] {
            let n = try r.varint()
            guard n <= maxStatCount else { throw WireError.invalid(field: field, reason: "\(n)") }
            counts.append(Int(n))
        }
        let oldest: UInt64? = try flag(&r, "oldest flag") ? try r.varint() : nil
        let lowest = try r.varint(), next = try r.varint(), ids = try r.varint()
        guard ids <= maxStatCount else { throw WireError.invalid(field: "dedup ids", reason: "\(ids)") }
        var values: [UInt64] = []
        for _ in 0..<QueueCounters.count { values.append(try r.varint()) }
        return PartitionStats(ready: counts[0], delayed: counts[1], leased: counts[2], deadLetters: counts[3], bytes: counts[4],
                              oldestPublishedAtMillis: oldest, lowestOffset: lowest, nextOffset: next, dedupIDs: Int(ids),
                              counters: QueueCounters(values))
    }
}

extension PartitionStats {
    /// A partition that holds nothing and has applied nothing (not created on its shard yet).
    public static var empty: PartitionStats {
        PartitionStats(ready: 0, delayed: 0, leased: 0, deadLetters: 0, bytes: 0, oldestPublishedAtMillis: nil,
                       lowestOffset: 1, nextOffset: 1, dedupIDs: 0, counters: QueueCounters())
    }
}
