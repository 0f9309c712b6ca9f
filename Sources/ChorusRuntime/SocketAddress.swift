import ChorusBase
import Glibc

/// A `sockaddr_storage` holding one `Endpoint` in the layout a socket of a given family
/// expects. Invariant: `length` covers exactly the filled `sockaddr_in` or `sockaddr_in6`.
///
/// `IPAddress` keeps IPv4 as `::ffff:a.b.c.d`; an AF_INET socket gets a plain `sockaddr_in`,
/// an AF_INET6 socket the mapped `sockaddr_in6` (which a dual-stack socket routes over IPv4).
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    /// The family a socket needs to bind `endpoint`.
    static func family(for endpoint: Endpoint) -> Int32 { endpoint.ip.isIPv4 ? AF_INET : AF_INET6 }

    /// Lays out `endpoint` for a socket of `family`; nil when an AF_INET socket is asked to
    /// reach a true IPv6 address.
    init?(_ endpoint: Endpoint, family: Int32) {
        if family == AF_INET {
            guard endpoint.ip.isIPv4 else { return nil }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = endpoint.port.bigEndian
            sin.sin_addr = in_addr(s_addr: endpoint.ip.ipv4.bigEndian)
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin) { src in dst.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = endpoint.port.bigEndian
            let bytes = endpoint.ip.bytes
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for i in 0..<16 { raw[i] = bytes[i] }
            }
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin6) { src in dst.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// An empty address for the kernel to fill (accept, recvfrom, getsockname).
    init() { length = socklen_t(MemoryLayout<sockaddr_storage>.size) }

    /// The endpoint the kernel wrote, or nil for a family other than IPv4/IPv6.
    var endpoint: Endpoint? {
        withUnsafeBytes(of: storage) { raw -> Endpoint? in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let sin = raw.loadUnaligned(as: sockaddr_in.self)
                return Endpoint(ip: IPAddress(ipv4: UInt32(bigEndian: sin.sin_addr.s_addr)),
                                port: UInt16(bigEndian: sin.sin_port))
            case AF_INET6:
                let sin6 = raw.loadUnaligned(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
                return Endpoint(ip: IPAddress(bytes: bytes), port: UInt16(bigEndian: sin6.sin6_port))
            default:
                return nil
            }
        }
    }

    // The force unwraps below read `baseAddress` of a fixed-size `sockaddr_storage`, which is
    // never empty; no input reaches them.

    /// Calls `body` with the address as the `sockaddr` pointer and length the C API wants.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Calls `body` with a writable `sockaddr` pointer and length, for the kernel to fill.
    mutating func withMutableSockAddr<R>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> R) -> R {
        var len = length
        let r = withUnsafeMutableBytes(of: &storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &len)
        }
        length = len
        return r
    }
}
