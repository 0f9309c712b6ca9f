import ChorusBase

/// Reads what `ByteWriter` writes. Every read is bounds-checked and throws `WireError`;
/// no input, however hostile, makes it trap. Invariant: `offset <= bytes.count`.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(0, offset), bytes.count)
        self.end = bytes.count
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    @inline(__always) private func need(_ n: Int) throws(WireError) {
        if n > end - offset { throw WireError.truncated(needed: n, remaining: end - offset) }
    }

    public mutating func u8() throws(WireError) -> UInt8 {
        try need(1); defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func u16() throws(WireError) -> UInt16 {
        try need(2); defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
    public mutating func u32() throws(WireError) -> UInt32 {
        try need(4)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }
    public mutating func u64() throws(WireError) -> UInt64 {
        try need(8)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }
    /// LEB128, at most 10 bytes; overlong or overflowing encodings are refused.
    public mutating func varint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            let b = try u8()
            if i == 9 && b > 1 { throw WireError.invalid(field: "varint", reason: "overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw WireError.invalid(field: "varint", reason: "longer than 10 bytes")
    }
    /// A varint count checked against `limit` before anything is allocated.
    public mutating func count(_ field: String, limit: Int) throws(WireError) -> Int {
        let v = try varint()
        guard v <= UInt64(limit) else { throw WireError.tooLarge(field: field, value: Int(clamping: v), limit: limit) }
        return Int(v)
    }
    public mutating func string(_ field: String, limit: Int) throws(WireError) -> String {
        let n = try count(field, limit: limit)
        try need(n)
        defer { offset += n }
        let slice = bytes[offset..<offset + n]
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw WireError.invalid(field: field, reason: "not UTF-8")
        }
        return s
    }
    public mutating func blob(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        let n = try count(field, limit: limit)
        return try raw(n)
    }
    public mutating func raw(_ n: Int) throws(WireError) -> [UInt8] {
        try need(n); defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    public mutating func endpoint() throws(WireError) -> Endpoint {
        let family = try u8()
        let ip: IPAddress
        switch family {
        case 4: ip = IPAddress(ipv4: try u32())
        case 6:
            let h = try u64(), l = try u64()
            ip = IPAddress(high: h, low: l)
        default: throw WireError.invalid(field: "address family", reason: "\(family)")
        }
        return Endpoint(ip: ip, port: try u16())
    }
    public func expectEnd() throws(WireError) {
        if offset != end { throw WireError.trailingBytes(end - offset) }
    }
}
