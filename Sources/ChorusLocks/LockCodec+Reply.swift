import ChorusWire

extension LockCodec {
    /// A reply as bytes (how the shard layer hands it to the proposer and keeps it in its
    /// request ledger).
    public static func encode(_ reply: LockReply) -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        encode(reply, into: &w)
        return w.bytes
    }

    /// Reads what `encode(_ reply:)` wrote; anything else is an error, never a trap.
    public static func decodeReply(_ bytes: [UInt8]) throws(WireError) -> LockReply {
        var r = ByteReader(bytes)
        let value = try reply(&r)
        try r.expectEnd()
        return value
    }
}
