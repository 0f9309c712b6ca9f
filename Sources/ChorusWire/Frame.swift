/// Length-framed records for stream transports (TCP): a 4-byte big-endian length, then the
/// payload. Invariant: a frame longer than `maxFrameBytes` is refused before buffering it.
public enum Frame {
    /// Default upper bound for one frame (16 MiB): large enough for a full-state sync of a
    /// 100k-member cluster, small enough that a hostile length cannot exhaust memory.
    public static let defaultMaxBytes = 16 << 20

    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: payload.count + 4)
        append(payload, to: &w)
        return w.bytes
    }

    /// Writes one frame (length, then payload) at the end of `w`: several frames can go out
    /// in one buffer, and so in one write.
    public static func append(_ payload: [UInt8], to w: inout ByteWriter) {
        w.u32(UInt32(payload.count))
        w.raw(payload)
    }

    /// What a stream buffer holds at its front.
    public enum Parse: Equatable {
        case needMore
        case frame(payload: Range<Int>, consumed: Int)
        case oversized(Int)
    }

    /// Looks for a complete frame at the start of `buffer[start...]`.
    public static func parse(_ buffer: [UInt8], from start: Int = 0, maxBytes: Int = defaultMaxBytes) -> Parse {
        guard buffer.count - start >= 4 else { return .needMore }
        var len = 0
        for i in 0..<4 { len = len << 8 | Int(buffer[start + i]) }
        if len > maxBytes { return .oversized(len) }
        guard buffer.count - start - 4 >= len else { return .needMore }
        return .frame(payload: (start + 4)..<(start + 4 + len), consumed: 4 + len)
    }
}
