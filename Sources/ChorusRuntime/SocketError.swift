import ChorusBase
import Glibc

/// Why a socket operation failed, in words an operator can act on. Every socket call in the
/// runtime reports failure as one of these values; none traps. Invariant: `description` is a
/// single line that names the address involved when there is one.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `bind` found the address taken (EADDRINUSE).
    case addressInUse(Endpoint)
    /// The address is not one of this host's (EADDRNOTAVAIL).
    case addressNotAvailable(Endpoint)
    /// Binding a privileged port or a forbidden address (EACCES, EPERM).
    case permissionDenied(Endpoint)
    /// Nobody listens at the peer (ECONNREFUSED).
    case connectionRefused(Endpoint)
    /// The peer reset the connection (ECONNRESET, EPIPE).
    case connectionReset(Endpoint)
    /// A connect or exchange did not finish in time.
    case timedOut(Endpoint, after: Interval)
    /// No route to the peer (ENETUNREACH, EHOSTUNREACH).
    case unreachable(Endpoint)
    /// The peer's address family cannot be reached from this socket (an IPv6 peer from an
    /// IPv4 socket).
    case familyMismatch(local: Endpoint, remote: Endpoint)
    /// A received datagram was larger than the configured limit; it was discarded whole.
    case datagramTooLarge(size: Int, limit: Int, from: Endpoint)
    /// A datagram to send exceeds the configured limit; nothing was sent.
    case messageTooLarge(size: Int, limit: Int)
    /// The socket has already been closed.
    case closed
    /// Any other failure: the call that failed, its errno and the address if there is one.
    case system(call: String, errno: Int32, endpoint: Endpoint?)

    public var description: String {
        switch self {
        case let .addressInUse(e): return "address \(e) already in use"
        case let .addressNotAvailable(e): return "address \(e) is not available on this host"
        case let .permissionDenied(e): return "permission denied binding \(e)"
        case let .connectionRefused(e): return "connection refused by \(e)"
        case let .connectionReset(e): return "connection reset by \(e)"
        case let .timedOut(e, after): return "timed out after \(after) talking to \(e)"
        case let .unreachable(e): return "no route to \(e)"
        case let .familyMismatch(local, remote): return "cannot reach \(remote) from socket bound to \(local): address families differ"
        case let .datagramTooLarge(size, limit, from): return "datagram of \(size) bytes from \(from) exceeds limit of \(limit) bytes"
        case let .messageTooLarge(size, limit): return "message of \(size) bytes exceeds limit of \(limit) bytes"
        case .closed: return "socket is closed"
        case let .system(call, code, endpoint):
            let place = endpoint.map { " \($0)" } ?? ""
            return "\(call)\(place): \(SocketError.text(for: code))"
        }
    }

    /// Maps an errno from `call` on `endpoint` to the most specific case.
    static func from(errno code: Int32, call: String, endpoint: Endpoint?) -> SocketError {
        if let e = endpoint {
            switch code {
            case EADDRINUSE: return .addressInUse(e)
            case EADDRNOTAVAIL: return .addressNotAvailable(e)
            case EACCES, EPERM: return .permissionDenied(e)
            case ECONNREFUSED: return .connectionRefused(e)
            case ECONNRESET, EPIPE: return .connectionReset(e)
            case ENETUNREACH, EHOSTUNREACH: return .unreachable(e)
            default: break
            }
        }
        return .system(call: call, errno: code, endpoint: endpoint)
    }

    /// `strerror` text for an errno, e.g. "Connection refused".
    static func text(for code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        // Glibc exposes the XSI strerror_r here: 0 on success, text in `buf`.
        guard strerror_r(code, &buf, buf.count) == 0 else { return "errno \(code)" }
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
