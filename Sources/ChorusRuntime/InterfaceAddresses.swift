import ChorusBase
import Glibc

/// The addresses of this host's network interfaces (getifaddrs(3)), used to pick an address
/// to advertise when the agent binds a wildcard address. Invariant: only interfaces that are
/// up are listed, in the order the kernel reports them; loopback addresses come last.
public enum InterfaceAddresses {
    /// Every address of an up interface.
    public static func all() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var found: [IPAddress] = []
        var node = list
        while let entry = node {
            node = entry.pointee.ifa_next
            guard entry.pointee.ifa_flags & UInt32(IFF_UP) != 0, let sa = entry.pointee.ifa_addr else { continue }
            var address = SocketAddress()
            let family = Int32(sa.pointee.sa_family)
            let size: Int
            switch family {
            case AF_INET: size = MemoryLayout<sockaddr_in>.size
            case AF_INET6: size = MemoryLayout<sockaddr_in6>.size
            default: continue
            }
            withUnsafeMutableBytes(of: &address.storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: size))
            }
            address.length = socklen_t(size)
            if let e = address.endpoint, !found.contains(e.ip) { found.append(e.ip) }
        }
        return found.filter { !isLoopback($0) } + found.filter { isLoopback($0) }
    }

    /// The first non-loopback, non-link-local address of the family of `like` (IPv4 or IPv6).
    public static func advertisable(like: IPAddress) -> IPAddress? {
        all().first { ip in
            ip.isIPv4 == like.isIPv4 && !isLoopback(ip) && !isLinkLocal(ip)
        }
    }

    public static func isUnspecified(_ ip: IPAddress) -> Bool {
        ip == .anyV4 || ip == IPAddress(high: 0, low: 0)
    }

    static func isLoopback(_ ip: IPAddress) -> Bool {
        ip.isIPv4 ? (ip.ipv4 >> 24) == 127 : ip == .loopbackV6
    }

    static func isLinkLocal(_ ip: IPAddress) -> Bool {
        ip.isIPv4 ? (ip.ipv4 >> 16) == 0xA9FE : (ip.high >> 54) == 0x3FA
    }
}
