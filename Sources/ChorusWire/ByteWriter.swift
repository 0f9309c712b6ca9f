import ChorusBase

/// Appends big-endian integers, LEB128 varints and length-prefixed strings to a byte buffer.
/// Invariant: `bytes` holds exactly what was written, in order.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    // Fixed-width integers go in with one append of their big-endian bytes: a byte at a time
    // cost a capacity and uniqueness check per byte, visible in Raft's encoding profile.
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }
    public mutating func raw(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }
    /// A varint length then the UTF-8 bytes.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    public mutating func blob(_ b: [UInt8]) { varint(UInt64(b.count)); bytes.append(contentsOf: b) }
    public mutating func endpoint(_ e: Endpoint) {
        if e.ip.isIPv4 { u8(4); u32(e.ip.ipv4) } else { u8(6); u64(e.ip.high); u64(e.ip.low) }
        u16(e.port)
    }
    /// Overwrites a big-endian UInt32 at `offset` (for back-patched lengths and checksums).
    public mutating func patchU32(at offset: Int, _ v: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) }
    }

    /// Encoded size of a varint, so callers can budget without encoding.
    @inlinable public static func varintSize(_ v: UInt64) -> Int {
        var n = 1, x = v
        while x >= 0x80 { x >>= 7; n += 1 }
        return n
    }
    @inlinable public static func stringSize(_ s: String) -> Int {
        let n = s.utf8.count
        return varintSize(UInt64(n)) + n
    }
    @inlinable public static func endpointSize(_ e: Endpoint) -> Int { e.ip.isIPv4 ? 7 : 19 }
}
