import ChorusBase
import Glibc

/// Thin wrappers over the file-descriptor system calls the runtime shares between UDP, TCP
/// and HTTP. Invariant: every descriptor they create is nonblocking and close-on-exec, and
/// every failure comes back as a `SocketError`, never a trap.
enum Descriptor {
    /// A new nonblocking socket of `family` and `type` (SOCK_DGRAM / SOCK_STREAM).
    static func socket(family: Int32, type: Int32, for endpoint: Endpoint) throws(SocketError) -> Int32 {
        let fd = Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError.from(errno: errno, call: "socket", endpoint: endpoint) }
        return fd
    }

    /// Sets O_NONBLOCK and FD_CLOEXEC on a descriptor the kernel made without them.
    static func makeNonblockingAndCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Sets an integer socket option.
    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, call: String) throws(SocketError) {
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SocketError.system(call: call, errno: errno, endpoint: nil)
        }
    }

    /// Binds `fd` to `endpoint`; an IPv6 wildcard or address is made dual-stack where possible.
    static func bind(_ fd: Int32, to endpoint: Endpoint, family: Int32) throws(SocketError) {
        if family == AF_INET6 {
            // Accept IPv4-mapped peers on an IPv6 socket; Linux's default can be changed by
            // sysctl, so say what we mean. Failure is harmless (IPv6-only kernel).
            try? setOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 0, call: "setsockopt(IPV6_V6ONLY)")
        }
        guard let address = SocketAddress(endpoint, family: family) else {
            throw SocketError.system(call: "bind", errno: EAFNOSUPPORT, endpoint: endpoint)
        }
        let rc = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        if rc != 0 { throw SocketError.from(errno: errno, call: "bind", endpoint: endpoint) }
    }

    /// The address the kernel bound `fd` to (with the real port after binding port 0).
    static func localEndpoint(_ fd: Int32, fallback: Endpoint) -> Endpoint {
        var address = SocketAddress()
        let rc = address.withMutableSockAddr { getsockname(fd, $0, $1) }
        guard rc == 0, let e = address.endpoint else { return fallback }
        return e
    }

    /// The peer `fd` is connected to, if the kernel knows it.
    static func peerEndpoint(_ fd: Int32) -> Endpoint? {
        var address = SocketAddress()
        let rc = address.withMutableSockAddr { getpeername(fd, $0, $1) }
        return rc == 0 ? address.endpoint : nil
    }

    /// The pending error on a socket (SO_ERROR), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return errno }
        return value
    }

    /// Closes `fd`, retrying never (Linux releases the descriptor even on EINTR).
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// True for the errno values that mean "try again when the socket is ready".
    static func isWouldBlock(_ code: Int32) -> Bool { code == EAGAIN || code == EWOULDBLOCK }
}
