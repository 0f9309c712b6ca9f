import ChorusWire

/// The snapshot file format (big-endian), version 2:
///
///     0   magic       "CHSN"
///     4   version     u16 = 2
///     6   flags       u16 = 0
///     8   group       u64
///     16  index       u64
///     24  term        u64
///     32  dataBytes   u64
///     40  chunkBytes  u32   1 ... maxChunkBytes
///     44  headerCRC   u32   CRC-32C of bytes 0..<44
///     48  chunks      ⌈dataBytes / chunkBytes⌉ of them, each `chunkBytes` of data (the last
///                     one the rest) followed by the u32 CRC-32C of those bytes
///     end dataCRC     u32   CRC-32C of the whole data
///
/// A file is written and read one chunk at a time, so neither side holds a second copy of a
/// large image, and damage is located to a chunk. Version 1 (header of 40 bytes, the data,
/// then one CRC-32C of everything before it) is still read.
///
/// Invariant: reading is total; the file's real size, not `dataBytes`, bounds what is
/// allocated, and the header must account for the file's size exactly, so a truncated file
/// is named as such before any chunk is read.
public enum SnapshotFile {
    /// The version-1 header: enough to read group, index and term of either version.
    public static let headerBytes = 40
    public static let headerBytesV2 = 48
    public static let trailerBytes = 4
    /// Data bytes per chunk when writing: well below the 16 MiB frame and record limits.
    public static let defaultChunkBytes = 1 << 20
    /// Largest chunk a reader accepts (the frame limit), so one chunk's buffer stays bounded.
    public static let maxChunkBytes = 16 << 20
    static let magic: [UInt8] = [0x43, 0x48, 0x53, 0x4E]
    static let version: UInt16 = 2

    /// What the header says.
    public struct Header: Sendable, Equatable {
        public var group: UInt64
        public var index: UInt64
        public var term: UInt64
        public var dataBytes: UInt64
        public var version: UInt16
        /// Zero for version 1.
        public var chunkBytes: Int
    }

    /// Produces the file's bytes in order, a header or one chunk at a time, from `parts`, whose
    /// concatenation is the snapshot's data (a driver passes an image's prefix and the state
    /// machine's bytes without joining them).
    static func emit(group: UInt64, index: UInt64, term: UInt64, parts: [[UInt8]], chunkBytes: Int,
                     _ out: ([UInt8]) throws(StorageError) -> Void) throws(StorageError) {
        precondition(chunkBytes >= 1 && chunkBytes <= maxChunkBytes, "snapshot chunk of \(chunkBytes) bytes")
        let total = parts.reduce(0) { $0 + $1.count }
        var w = ByteWriter(capacity: headerBytesV2)
        w.raw(magic); w.u16(version); w.u16(0)
        w.u64(group); w.u64(index); w.u64(term); w.u64(UInt64(total)); w.u32(UInt32(chunkBytes))
        w.u32(CRC32C.checksum(w.bytes))
        try out(w.bytes)
        var whole: UInt32 = 0
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(total, chunkBytes) + 4)
        var part = 0, at = 0, written = 0
        while written < total {
            chunk.removeAll(keepingCapacity: true)
            while chunk.count < chunkBytes, part < parts.count {
                let take = min(chunkBytes - chunk.count, parts[part].count - at)
                chunk.append(contentsOf: parts[part][at..<at + take])
                at += take
                if at == parts[part].count { part += 1; at = 0 }
            }
            let crc = CRC32C.checksum(chunk)
            whole = chunk.withUnsafeBytes { CRC32C.update(whole, $0) }
            written += chunk.count
            withUnsafeBytes(of: crc.bigEndian) { chunk.append(contentsOf: $0) }
            try out(chunk)
        }
        var trailer: [UInt8] = []
        withUnsafeBytes(of: whole.bigEndian) { trailer.append(contentsOf: $0) }
        try out(trailer)
    }

    /// The whole file as one array (tests, fuzzing; `SnapshotStore` streams instead).
    public static func encode(_ s: Snapshot, chunkBytes: Int = defaultChunkBytes) -> [UInt8] {
        var bytes: [UInt8] = []
        do throws(StorageError) {
            try emit(group: s.group, index: s.index, term: s.term, parts: [s.data], chunkBytes: chunkBytes) { bytes += $0 }
        } catch {
            preconditionFailure("collecting bytes cannot fail")
        }
        return bytes
    }

    /// The header fields alone (enough to compare indices without trusting the data).
    public static func decodeHeader(_ bytes: [UInt8]) -> Result<Header, RecordFrame.BodyError> {
        guard bytes.count >= headerBytes else { return .failure(.init(reason: "short header: \(bytes.count) bytes")) }
        guard Array(bytes[0..<4]) == magic else { return .failure(.init(reason: "bad magic")) }
        var r = ByteReader(bytes, offset: 4)
        do throws(WireError) {
            let v = try r.u16(), flags = try r.u16()
            guard v == 1 || v == 2 else { return .failure(.init(reason: "unsupported version \(v)")) }
            guard flags == 0 else { return .failure(.init(reason: "unknown flags \(flags)")) }
            var h = Header(group: try r.u64(), index: try r.u64(), term: try r.u64(), dataBytes: try r.u64(), version: v, chunkBytes: 0)
            if v == 2 {
                guard bytes.count >= headerBytesV2 else { return .failure(.init(reason: "short header: \(bytes.count) bytes")) }
                let chunk = try r.u32()
                guard try r.u32() == CRC32C.checksum(bytes[0..<headerBytesV2 - 4]) else { return .failure(.init(reason: "header checksum mismatch")) }
                guard chunk >= 1, chunk <= UInt32(maxChunkBytes) else { return .failure(.init(reason: "chunk size \(chunk)")) }
                h.chunkBytes = Int(chunk)
            }
            return .success(h)
        } catch {
            return .failure(.init(reason: "\(error)"))
        }
    }

    /// Reads a whole snapshot through `read(offset, count)` from a file of `size` bytes, one
    /// chunk at a time. Damage is `.corruptSnapshot(file: name, …)`; I/O errors pass through.
    static func read(size: Int, name: String, maxBytes: Int,
                     _ read: (Int, Int) throws(StorageError) -> [UInt8]) throws(StorageError) -> Snapshot {
        func corrupt(_ reason: String) -> StorageError { .corruptSnapshot(file: name, reason: reason) }
        guard size <= maxBytes else { throw corrupt("\(size) bytes exceeds limit \(maxBytes)") }
        let head = try read(0, headerBytesV2)
        let h: Header
        switch decodeHeader(head) {
        case let .failure(e): throw corrupt(e.reason)
        case let .success(header): h = header
        }
        if h.version == 1 {
            switch decodeV1(try read(0, size)) {
            case let .failure(e): throw corrupt(e.reason)
            case let .success(s): return s
            }
        }
        // `dataBytes` is checked against the real size before any arithmetic uses it.
        guard h.dataBytes <= UInt64(size) else { throw corrupt("data length \(h.dataBytes) exceeds file size \(size)") }
        let dataBytes = Int(h.dataBytes)
        let chunks = dataBytes == 0 ? 0 : (dataBytes - 1) / h.chunkBytes + 1
        let expected = headerBytesV2 + dataBytes + 4 * chunks + trailerBytes
        guard expected == size else {
            throw corrupt("\(size) bytes where the header accounts for \(expected)\(size < expected ? " (truncated)" : "")")
        }
        var data: [UInt8] = []
        data.reserveCapacity(dataBytes)
        var whole: UInt32 = 0
        var offset = headerBytesV2
        for i in 0..<chunks {
            let n = min(h.chunkBytes, dataBytes - data.count)
            let piece = try read(offset, n + 4)
            guard piece.count == n + 4 else { throw corrupt("chunk \(i) at offset \(offset): short read of \(piece.count) bytes") }
            let crc = piece.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            guard RecordFrame.readU32(piece, n) == crc else { throw corrupt("chunk \(i) at offset \(offset): checksum mismatch") }
            whole = piece.withUnsafeBytes { CRC32C.update(whole, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            data.append(contentsOf: piece[0..<n])
            offset += n + 4
        }
        let trailer = try read(offset, trailerBytes)
        guard trailer.count == trailerBytes, RecordFrame.readU32(trailer, 0) == whole else { throw corrupt("data checksum mismatch") }
        return Snapshot(group: h.group, index: h.index, term: h.term, data: data)
    }

    /// Decodes a whole file held in memory (either version).
    public static func decode(_ bytes: [UInt8]) -> Result<Snapshot, RecordFrame.BodyError> {
        do throws(StorageError) {
            let s = try read(size: bytes.count, name: "", maxBytes: Int.max) { (offset, count) throws(StorageError) -> [UInt8] in
                guard offset >= 0, count >= 0, offset < bytes.count else { return [] }
                return Array(bytes[offset..<offset + min(count, bytes.count - offset)])
            }
            return .success(s)
        } catch {
            if case let .corruptSnapshot(_, reason) = error { return .failure(.init(reason: reason)) }
            return .failure(.init(reason: error.description))
        }
    }

    /// Version 1: the header, the data, one CRC-32C of everything before it.
    static func decodeV1(_ bytes: [UInt8]) -> Result<Snapshot, RecordFrame.BodyError> {
        let header: Header
        switch decodeHeader(bytes) {
        case let .failure(e): return .failure(e)
        case let .success(h): header = h
        }
        guard header.version == 1, bytes.count >= headerBytes + trailerBytes,
              header.dataBytes == UInt64(bytes.count - headerBytes - trailerBytes) else {
            return .failure(.init(reason: "data length \(header.dataBytes) does not match file size \(bytes.count)"))
        }
        let end = bytes.count - trailerBytes
        let stored = RecordFrame.readU32(bytes, end)
        guard stored == CRC32C.checksum(bytes[0..<end]) else { return .failure(.init(reason: "checksum mismatch")) }
        return .success(Snapshot(group: header.group, index: header.index, term: header.term, data: Array(bytes[headerBytes..<end])))
    }

    /// A version-1 file, as older nodes wrote it (tests of reading old files).
    public static func encodeV1(_ s: Snapshot) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes + s.data.count + trailerBytes)
        w.raw(magic); w.u16(1); w.u16(0)
        w.u64(s.group); w.u64(s.index); w.u64(s.term); w.u64(UInt64(s.data.count))
        w.raw(s.data)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }
}
