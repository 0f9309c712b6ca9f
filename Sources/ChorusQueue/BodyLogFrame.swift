import ChorusWire

/// The on-disk layout of a body log segment (all integers big-endian):
///
///     segment  = header · record*
///     header   = magic "CQBL" · version u8 = 1 · 3 zero bytes              (8 bytes)
///     record   = length u32 · crc u32 · offset u64 · body                   (16 + body bytes)
///
/// `length` counts the offset and the body (8 ... `maxBodyBytes` + 8); `crc` is the CRC-32C
/// of those same bytes. A record names the partition offset whose body it holds; the same
/// offset may appear more than once (a compaction's copy, a replayed publish) and the copy
/// in the later segment, or later in one segment, is the one the index points at.
///
/// Invariant: `scan` is total — any bytes, however hostile, give a verdict (records up to the
/// first damage, and the damage's position and reason), never a trap or an allocation sized by
/// a length field before that length was checked against the bytes present.
public enum BodyLogFrame {
    public static let headerBytes = 8
    public static let recordHeaderBytes = 16
    static let magic: [UInt8] = [0x43, 0x51, 0x42, 0x4C] // "CQBL"
    static let version: UInt8 = 1

    /// The segment header.
    public static func header() -> [UInt8] { magic + [version, 0, 0, 0] }

    /// Appends one framed record for `body` at `offset`.
    public static func append(offset: UInt64, body: [UInt8], to w: inout ByteWriter) {
        let start = w.count
        w.u32(UInt32(truncatingIfNeeded: 8 + body.count))
        w.u32(0)
        w.u64(offset)
        w.raw(body)
        let crc = w.bytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        w.patchU32(at: start + 4, crc)
    }

    /// One record found by `scan`: the offset it names, where its body starts in the segment
    /// file, and the body's size.
    public struct Found: Equatable, Sendable {
        public var offset: UInt64
        public var bodyPosition: Int
        public var bodyBytes: Int
    }

    /// What `scan` found in a segment's bytes.
    public struct Scan: Equatable, Sendable {
        public var records: [Found] = []
        /// Bytes of the valid prefix (header and whole records).
        public var validBytes = 0
        /// Why the bytes after `validBytes` are not records; nil when the segment ends cleanly.
        public var damage: String?
        /// The header itself is wrong (not torn: a different file or a different version).
        public var badHeader = false
    }

    /// Reads records from a whole segment's bytes up to the first damage.
    public static func scan(_ bytes: [UInt8], maxBodyBytes: Int) -> Scan {
        scan(size: bytes.count, maxBodyBytes: maxBodyBytes, windowBytes: bytes.count) { at, count in
            at >= bytes.count ? [] : Array(bytes[at..<min(bytes.count, at + count)])
        }
    }

    /// Reads records from a segment of `size` bytes through `read(at:count:)`, holding at most
    /// one window (`windowBytes`, or one record if larger) in memory at a time.
    public static func scan<E: Error>(size: Int, maxBodyBytes: Int, windowBytes: Int = 1 << 20,
                                      read: (Int, Int) throws(E) -> [UInt8]) throws(E) -> Scan {
        var s = Scan()
        guard size >= headerBytes else {
            s.damage = "short header: \(size) bytes"
            return s
        }
        let head = try read(0, headerBytes)
        guard head.count == headerBytes else { s.damage = "short header: \(head.count) bytes read"; return s }
        guard Array(head[0..<4]) == magic else {
            s.damage = "not a body log segment (magic)"; s.badHeader = true
            return s
        }
        guard head[4] == version else {
            s.damage = "body log version \(head[4])"; s.badHeader = true
            return s
        }
        var p = headerBytes
        s.validBytes = p
        var window: [UInt8] = [], windowStart = p
        // Makes the window hold [p, p + n) if the segment has those bytes; false otherwise.
        func have(_ n: Int) throws(E) -> Bool {
            if p + n <= windowStart + window.count { return true }
            guard n <= size - p else { return false }
            window = try read(p, max(windowBytes, n))
            windowStart = p
            return window.count >= n
        }
        while p < size {
            let remaining = size - p
            guard try have(recordHeaderBytes) else { s.damage = "short record header at \(p): \(remaining) bytes"; return s }
            let w = p - windowStart
            let length = Int(readU32(window, w))
            guard length >= 8, length - 8 <= maxBodyBytes else { s.damage = "bad length \(length) at \(p)"; return s }
            guard length <= remaining - 8, try have(8 + length) else {
                s.damage = "short record at \(p): length \(length), \(remaining - 8) bytes present"; return s
            }
            let r = p - windowStart
            let stored = readU32(window, r + 4)
            guard CRC32C.checksum(window[(r + 8)..<(r + 8 + length)]) == stored else { s.damage = "checksum mismatch at \(p)"; return s }
            var offset: UInt64 = 0
            for i in 0..<8 { offset = offset << 8 | UInt64(window[r + 8 + i]) }
            s.records.append(Found(offset: offset, bodyPosition: p + recordHeaderBytes, bodyBytes: length - 8))
            p += 8 + length
            s.validBytes = p
        }
        return s
    }

    @inline(__always) static func readU32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}
