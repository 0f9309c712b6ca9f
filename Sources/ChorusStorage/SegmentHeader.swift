import ChorusWire

/// The first bytes of every segment file (big-endian):
///
///     0   magic            "CHSG"
///     4   version          u16 = 1
///     6   flags            u16 = 0
///     8   firstSequence    u64   sequence of the segment's first record; equals the file name
///     16  checkpointCount  u32   how many `checkpoint` records open the segment
///     20  crc              u32   CRC-32C of bytes 0..<20
///
/// Invariant: a header is written together with the segment's checkpoint records in the same
/// write and fsync; a header that does not decode is either a torn segment creation (last
/// segment, nothing valid after it) or corruption.
public struct SegmentHeader: Hashable, Sendable {
    public static let bytes = 24
    public static let magic: [UInt8] = [0x43, 0x48, 0x53, 0x47]
    public static let version: UInt16 = 1

    public var firstSequence: UInt64
    public var checkpointCount: UInt32

    public init(firstSequence: UInt64, checkpointCount: UInt32) {
        self.firstSequence = firstSequence; self.checkpointCount = checkpointCount
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.raw(SegmentHeader.magic)
        w.u16(SegmentHeader.version)
        w.u16(0)
        w.u64(firstSequence)
        w.u32(checkpointCount)
        w.u32(CRC32C.checksum(w.bytes[start..<w.count]))
    }

    /// Decodes the header at the start of `bytes`; total.
    public static func decode(_ bytes: [UInt8]) -> Result<SegmentHeader, RecordFrame.BodyError> {
        guard bytes.count >= SegmentHeader.bytes else {
            return .failure(.init(reason: "short header: \(bytes.count) bytes"))
        }
        guard Array(bytes[0..<4]) == magic else { return .failure(.init(reason: "bad magic")) }
        var r = ByteReader(Array(bytes[0..<SegmentHeader.bytes]), offset: 4)
        do throws(WireError) {
            let version = try r.u16(), flags = try r.u16()
            let first = try r.u64(), count = try r.u32(), crc = try r.u32()
            guard crc == CRC32C.checksum(bytes[0..<20]) else { return .failure(.init(reason: "header checksum mismatch")) }
            guard version == SegmentHeader.version else { return .failure(.init(reason: "unsupported version \(version)")) }
            guard flags == 0 else { return .failure(.init(reason: "unknown flags \(flags)")) }
            guard first >= 1 else { return .failure(.init(reason: "first sequence 0")) }
            return .success(SegmentHeader(firstSequence: first, checkpointCount: count))
        } catch {
            return .failure(.init(reason: "\(error)"))
        }
    }
}
