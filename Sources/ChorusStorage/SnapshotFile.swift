import ChorusWire

/// The snapshot file format (big-endian):
///
///     0   magic       "CHSN"
///     4   version     u16 = 1
///     6   flags       u16 = 0
///     8   group       u64
///     16  index       u64
///     24  term        u64
///     32  dataBytes   u64
///     40  data        dataBytes bytes
///     40+dataBytes    crc u32   CRC-32C of everything before it
///
/// Invariant: `decode` is total; the file's real size, not `dataBytes`, bounds what is read,
/// and `dataBytes` must account for the file exactly.
public enum SnapshotFile {
    public static let headerBytes = 40
    public static let trailerBytes = 4
    static let magic: [UInt8] = [0x43, 0x48, 0x53, 0x4E]
    static let version: UInt16 = 1

    public static func encode(_ s: Snapshot) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes + s.data.count + trailerBytes)
        w.raw(magic); w.u16(version); w.u16(0)
        w.u64(s.group); w.u64(s.index); w.u64(s.term); w.u64(UInt64(s.data.count))
        w.raw(s.data)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The header fields alone (enough to compare indices without trusting the data).
    public static func decodeHeader(_ bytes: [UInt8]) -> Result<(group: UInt64, index: UInt64, term: UInt64, dataBytes: UInt64), RecordFrame.BodyError> {
        guard bytes.count >= headerBytes else { return .failure(.init(reason: "short header: \(bytes.count) bytes")) }
        guard Array(bytes[0..<4]) == magic else { return .failure(.init(reason: "bad magic")) }
        var r = ByteReader(bytes, offset: 4)
        do throws(WireError) {
            let v = try r.u16(), flags = try r.u16()
            guard v == version else { return .failure(.init(reason: "unsupported version \(v)")) }
            guard flags == 0 else { return .failure(.init(reason: "unknown flags \(flags)")) }
            return .success((try r.u64(), try r.u64(), try r.u64(), try r.u64()))
        } catch {
            return .failure(.init(reason: "\(error)"))
        }
    }

    public static func decode(_ bytes: [UInt8]) -> Result<Snapshot, RecordFrame.BodyError> {
        let header: (group: UInt64, index: UInt64, term: UInt64, dataBytes: UInt64)
        switch decodeHeader(bytes) {
        case let .failure(e): return .failure(e)
        case let .success(h): header = h
        }
        guard bytes.count >= headerBytes + trailerBytes,
              header.dataBytes == UInt64(bytes.count - headerBytes - trailerBytes) else {
            return .failure(.init(reason: "data length \(header.dataBytes) does not match file size \(bytes.count)"))
        }
        let end = bytes.count - trailerBytes
        let stored = RecordFrame.readU32(bytes, end)
        guard stored == CRC32C.checksum(bytes[0..<end]) else { return .failure(.init(reason: "checksum mismatch")) }
        return .success(Snapshot(group: header.group, index: header.index, term: header.term, data: Array(bytes[headerBytes..<end])))
    }
}
