import ChorusWire

/// One segment file of the shared log, as the open log sees it: the durable prefix on disk and
/// the bytes appended since the last sync, which the next sync writes at `durableBytes`.
/// Invariant: `durableBytes` and `durableBytes + pending.count` are record boundaries; `file`
/// is nil only for a segment rolled to since the last sync and not yet created on disk.
final class Segment {
    let firstSequence: UInt64
    let name: String
    let checkpointCount: Int
    var file: (any StorageFile)?
    var durableBytes: Int
    var pending: ByteWriter
    /// Records in the segment, checkpoints included, durable or pending.
    var recordCount: Int

    init(firstSequence: UInt64, checkpointCount: Int, file: (any StorageFile)?, durableBytes: Int, recordCount: Int) {
        self.firstSequence = firstSequence
        self.name = SegmentName.name(firstSequence)
        self.checkpointCount = checkpointCount
        self.file = file
        self.durableBytes = durableBytes
        self.pending = ByteWriter(capacity: 0)
        self.recordCount = recordCount
    }

    var size: Int { durableBytes + pending.count }
    var hasPending: Bool { pending.count > 0 || file == nil }

    /// Sequence of the record after this segment's last one.
    var endSequence: UInt64 { firstSequence + UInt64(recordCount) }

    /// Hands the pending bytes over and starts an empty buffer.
    func takePending() -> [UInt8] {
        let bytes = pending.bytes
        pending = ByteWriter(capacity: min(bytes.count, 1 << 20))
        return bytes
    }
}
