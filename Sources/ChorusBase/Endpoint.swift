import Glibc

/// An IP address, IPv4 stored as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) so that
/// one 16-byte value covers both families. Invariant: `isIPv4` ⇔ the mapped prefix.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }
    @inlinable public init(ipv4: UInt32) { self.high = 0; self.low = 0x0000_FFFF_0000_0000 | UInt64(ipv4) }

    public static let loopbackV4 = IPAddress(ipv4: 0x7F00_0001)
    public static let anyV4 = IPAddress(ipv4: 0)
    public static let loopbackV6 = IPAddress(high: 0, low: 1)

    @inlinable public var isIPv4: Bool { high == 0 && (low >> 32) == 0x0000_FFFF }
    @inlinable public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// The 16 bytes in network order.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
        for i in 0..<8 { out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
        return out
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = (h << 8) | UInt64(bytes[i]) }
        for i in 8..<16 { l = (l << 8) | UInt64(bytes[i]) }
        self.init(high: h, low: l)
    }

    /// Parses a numeric IPv4 or IPv6 address (no host names; those go through the resolver).
    public init?(parsing text: String) {
        if text.contains(":") {
            var a6 = in6_addr()
            guard inet_pton(AF_INET6, text, &a6) == 1 else { return nil }
            let b = withUnsafeBytes(of: a6) { Array($0) }
            self.init(bytes: b)
        } else {
            var a4 = in_addr()
            guard inet_pton(AF_INET, text, &a4) == 1 else { return nil }
            self.init(ipv4: UInt32(bigEndian: a4.s_addr))
        }
    }

    public var description: String {
        if isIPv4 {
            let v = ipv4
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        var a6 = in6_addr()
        let b = bytes
        withUnsafeMutableBytes(of: &a6) { raw in for i in 0..<16 { raw[i] = b[i] } }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &a6, &buf, socklen_t(buf.count)) != nil else { return "?" }
        let text = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: text, as: UTF8.self)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// A transport address: IP and port. Gossip (UDP) and peer traffic (TCP) share one port.
public struct Endpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    @inlinable public init(ip: IPAddress, port: UInt16) { self.ip = ip; self.port = port }

    /// "a.b.c.d:port" or "[v6]:port".
    public var description: String { ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)" }

    /// Parses a numeric "HOST:PORT" ("127.0.0.1:7946", "[::1]:7946"). Host names are resolved
    /// by the runtime, never here.
    public init?(parsing text: String) {
        guard let (host, port) = Endpoint.split(text), let ip = IPAddress(parsing: host) else { return nil }
        self.init(ip: ip, port: port)
    }

    /// Splits "HOST:PORT" or "[V6]:PORT" into host text and port; nil when malformed.
    public static func split(_ text: String) -> (host: String, port: UInt16)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), !host.isEmpty else { return nil }
            return (host, port)
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.contains(":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        return (host, port)
    }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.ip, a.port) < (b.ip, b.port) }
}
