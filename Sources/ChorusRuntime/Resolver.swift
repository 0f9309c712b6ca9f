import ChorusBase
import Glibc

/// Turns "HOST:PORT" text into endpoints with getaddrinfo(3).
///
/// Invariant: returns at least one endpoint or throws a `ResolveError` that names the host;
/// results keep the system's preference order with duplicates removed. Numeric addresses
/// never touch DNS. Blocking: call it at startup or off the event loop thread, never inside a
/// loop handler.
public enum Resolver {
    /// Resolves "127.0.0.1:7946", "[::1]:7946" or "localhost:7946" (IPv4 and IPv6).
    public static func resolve(_ hostPort: String) throws(ResolveError) -> [Endpoint] {
        guard let (host, port) = Endpoint.split(hostPort) else { throw ResolveError.malformed(hostPort) }
        if let ip = IPAddress(parsing: host) { return [Endpoint(ip: ip, port: port)] }
        guard isPlausibleHostName(host) else { throw ResolveError.malformed(hostPort) }

        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        // One socket type, or getaddrinfo lists every address once per type.
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            let reason = rc == EAI_SYSTEM ? SocketError.text(for: errno) : String(cString: gai_strerror(rc))
            throw ResolveError.lookupFailed(host: host, reason: reason)
        }
        defer { freeaddrinfo(list) }

        var endpoints: [Endpoint] = []
        var node = list
        while let entry = node {
            if let sa = entry.pointee.ai_addr, entry.pointee.ai_addrlen > 0 {
                var address = SocketAddress()
                let len = min(Int(entry.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutableBytes(of: &address.storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: len))
                }
                address.length = socklen_t(len)
                if var e = address.endpoint {
                    e.port = port
                    if !endpoints.contains(e) { endpoints.append(e) }
                }
            }
            node = entry.pointee.ai_next
        }
        guard !endpoints.isEmpty else { throw ResolveError.lookupFailed(host: host, reason: "no IPv4 or IPv6 address") }
        return endpoints
    }

    /// Rejects text no resolver could accept (spaces, control bytes, over-long names) before
    /// it reaches the network.
    static func isPlausibleHostName(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        return host.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
        }
    }
}

/// Why a "HOST:PORT" could not be resolved. Invariant: the description names what was asked.
public enum ResolveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not of the form HOST:PORT or [V6]:PORT with a port in 0...65535.
    case malformed(String)
    /// The host has no address (unknown name, DNS failure).
    case lookupFailed(host: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(text): return "expected HOST:PORT (or [IPv6]:PORT), got \"\(text)\""
        case let .lookupFailed(host, reason): return "cannot resolve host \"\(host)\": \(reason)"
        }
    }
}
