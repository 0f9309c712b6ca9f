import Glibc

/// Ports on 127.0.0.1 for the agents of `chorus dev`: a gossip port free for both UDP and
/// TCP (an agent binds both on it) and an API port free for TCP.
///
/// Invariant: a port is reported free only after a bind on it succeeded (TCP with
/// SO_REUSEADDR, as the agent binds it; UDP without) and was closed again;
/// another process may still take it before the agent binds (the agent then refuses to start
/// and says so), a window this cannot close.
enum LoopbackPorts {
    /// True when both kinds of socket can bind `port` now.
    static func gossipFree(_ port: UInt16) -> Bool { canBind(port, type: SOCK_DGRAM) && canBind(port, type: SOCK_STREAM) }

    static func apiFree(_ port: UInt16) -> Bool { canBind(port, type: SOCK_STREAM) }

    /// A port the kernel picks for UDP that is also free for TCP; nil after 100 tries.
    static func ephemeralGossip(avoiding taken: Set<UInt16>) -> UInt16? {
        ephemeral(type: SOCK_DGRAM, avoiding: taken) { canBind($0, type: SOCK_STREAM) }
    }

    static func ephemeralAPI(avoiding taken: Set<UInt16>) -> UInt16? {
        ephemeral(type: SOCK_STREAM, avoiding: taken) { _ in true }
    }

    private static func ephemeral(type: __socket_type, avoiding taken: Set<UInt16>, also: (UInt16) -> Bool) -> UInt16? {
        for _ in 0..<100 {
            guard let port = bind(0, type: type), !taken.contains(port), also(port) else { continue }
            return port
        }
        return nil
    }

    private static func canBind(_ port: UInt16, type: __socket_type) -> Bool { bind(port, type: type) != nil }

    /// Binds 127.0.0.1:`port` (0: any), closes the socket and returns the port it had.
    private static func bind(_ port: UInt16, type: __socket_type) -> UInt16? {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if type == SOCK_STREAM {
            // As the agent's listener does: a port whose last connections wait in TIME_WAIT
            // (a dev cluster stopped a moment ago) is free for it.
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        addr.sin_port = port.bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, size) } }
        guard bound == 0 else { return nil }
        var length = size
        let named = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return named == 0 ? UInt16(bigEndian: addr.sin_port) : nil
    }
}
