import ChorusWire

/// The binary form of `QueueSettings`, shared by catalogue entries and snapshots.
///
/// ```
/// settings = partitions · visibility · maxVisibility · maxDeliveries · [u8 0 | u8 1 · dlq]
///            · maxLength · maxBytes · dedupWindow · maxDedupIDs · fifo u8 · maxMessageBytes
///            · backoff · maxBackoff · maxNackDelay · maxFetch
/// ```
/// Invariant: the decoder returns only settings that pass `validate()`.
extension QueueCodec {
    public static func encode(_ s: QueueSettings, into w: inout ByteWriter) {
        w.varint(UInt64(s.partitions)); w.varint(s.visibilityTimeoutMillis); w.varint(s.maxVisibilityTimeoutMillis)
        w.varint(UInt64(s.maxDeliveries))
        optionalText(s.deadLetterQueue, into: &w)
        w.varint(UInt64(s.maxLength)); w.varint(UInt64(s.maxBytes)); w.varint(s.dedupWindowMillis)
        w.varint(UInt64(s.maxDedupIDs)); w.u8(s.fifoPerKey ? 1 : 0); w.varint(UInt64(s.maxMessageBytes))
        w.varint(s.redeliveryBackoffMillis); w.varint(s.maxRedeliveryBackoffMillis); w.varint(s.maxNackDelayMillis)
        w.varint(UInt64(s.maxFetchMessages))
    }

    public static func settings(_ r: inout ByteReader) throws(WireError) -> QueueSettings {
        // Each count is bounded far above what `validate()` allows, then validated as a whole.
        let wide = 1 << 52
        var s = QueueSettings()
        s.partitions = try r.count("partitions", limit: wide)
        s.visibilityTimeoutMillis = try r.varint()
        s.maxVisibilityTimeoutMillis = try r.varint()
        s.maxDeliveries = try r.count("max deliveries", limit: wide)
        s.deadLetterQueue = try optionalText(&r, "dead letter queue", QueueName.init)
        s.maxLength = try r.count("max length", limit: wide)
        s.maxBytes = try r.count("max bytes", limit: wide)
        s.dedupWindowMillis = try r.varint()
        s.maxDedupIDs = try r.count("max dedup ids", limit: wide)
        s.fifoPerKey = try flag(&r, "fifo per key")
        s.maxMessageBytes = try r.count("max message bytes", limit: wide)
        s.redeliveryBackoffMillis = try r.varint()
        s.maxRedeliveryBackoffMillis = try r.varint()
        s.maxNackDelayMillis = try r.varint()
        s.maxFetchMessages = try r.count("max fetch messages", limit: wide)
        do { try s.validate() } catch { throw WireError.invalid(field: "queue settings", reason: error.description) }
        return s
    }
}
