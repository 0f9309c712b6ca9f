import ChorusBase
import Glibc

/// A nonblocking UDP socket bound to one local endpoint, IPv4 or IPv6.
///
/// Invariants:
/// - `receive()` never blocks and never hands out more than `maxDatagramBytes`: a larger
///   datagram is consumed and reported as `SocketError.datagramTooLarge`, so one hostile
///   packet cannot wedge the socket or allocate beyond the receive buffer.
/// - `send` never blocks; a full kernel buffer is reported as an error (the datagram is
///   dropped, as UDP may).
/// - The descriptor is closed exactly once, by `close()` or on deinit.
///
/// Not thread-safe: the event loop thread owns it. SO_REUSEADDR is deliberately not set, so a
/// second agent on the same port fails at bind with `addressInUse` instead of sharing traffic.
public final class UDPSocket {
    /// Largest UDP payload over IPv4 (65,535 − 8 UDP − 20 IP).
    public static let defaultMaxDatagramBytes = 65_507
    /// The receive buffer: the largest datagram the kernel can deliver, plus one byte.
    static let receiveBufferBytes = 64 * 1024

    public let localEndpoint: Endpoint
    /// Datagrams larger than this are refused on send and reported on receive.
    public let maxDatagramBytes: Int
    /// The socket's descriptor, for registering with an `EventLoop`; -1 once closed.
    public private(set) var fd: Int32
    private let family: Int32
    private var buffer: [UInt8]

    /// Binds a new socket to `endpoint` (port 0 picks a free port; read it from `localEndpoint`).
    public init(bind endpoint: Endpoint, maxDatagramBytes: Int = UDPSocket.defaultMaxDatagramBytes) throws(SocketError) {
        precondition(maxDatagramBytes > 0 && maxDatagramBytes <= UDPSocket.receiveBufferBytes,
                     "UDPSocket maxDatagramBytes must be in 1...\(UDPSocket.receiveBufferBytes)")
        let family = SocketAddress.family(for: endpoint)
        let fd = try Descriptor.socket(family: family, type: Int32(SOCK_DGRAM.rawValue), for: endpoint)
        do {
            try Descriptor.bind(fd, to: endpoint, family: family)
        } catch {
            Descriptor.close(fd)
            throw error
        }
        self.fd = fd
        self.family = family
        self.maxDatagramBytes = maxDatagramBytes
        self.localEndpoint = Descriptor.localEndpoint(fd, fallback: endpoint)
        self.buffer = [UInt8](repeating: 0, count: UDPSocket.receiveBufferBytes)
    }

    deinit { close() }

    /// Closes the socket; later calls report `SocketError.closed`. The caller unregisters
    /// the descriptor from its event loop first.
    public func close() {
        guard fd >= 0 else { return }
        Descriptor.close(fd)
        fd = -1
    }

    /// Sends one datagram to `destination`.
    public func send(_ bytes: [UInt8], to destination: Endpoint) throws(SocketError) {
        guard fd >= 0 else { throw SocketError.closed }
        guard bytes.count <= maxDatagramBytes else {
            throw SocketError.messageTooLarge(size: bytes.count, limit: maxDatagramBytes)
        }
        guard let address = SocketAddress(destination, family: family) else {
            throw SocketError.familyMismatch(local: localEndpoint, remote: destination)
        }
        while true {
            let sent = bytes.withUnsafeBytes { raw in
                address.withSockAddr { sa, len in sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), sa, len) }
            }
            if sent >= 0 { return }
            let code = errno
            if code == EINTR { continue }
            if code == EAFNOSUPPORT { throw SocketError.familyMismatch(local: localEndpoint, remote: destination) }
            throw SocketError.from(errno: code, call: "sendto", endpoint: destination)
        }
    }

    /// Receives one datagram, or nil when none is waiting.
    ///
    /// A datagram longer than `maxDatagramBytes` is consumed and thrown as
    /// `datagramTooLarge`; the next call reads the next datagram.
    public func receive() throws(SocketError) -> (bytes: [UInt8], from: Endpoint)? {
        guard fd >= 0 else { throw SocketError.closed }
        while true {
            var address = SocketAddress()
            // MSG_TRUNC makes Linux return the datagram's real length even when it exceeds
            // the buffer, which is how an oversized datagram is detected.
            let received = buffer.withUnsafeMutableBytes { raw in
                address.withMutableSockAddr { sa, len in
                    recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_TRUNC), sa, len)
                }
            }
            if received < 0 {
                let code = errno
                if code == EINTR { continue }
                if Descriptor.isWouldBlock(code) { return nil }
                throw SocketError.from(errno: code, call: "recvfrom", endpoint: localEndpoint)
            }
            let from = address.endpoint ?? Endpoint(ip: .anyV4, port: 0)
            guard received <= maxDatagramBytes, received <= buffer.count else {
                throw SocketError.datagramTooLarge(size: received, limit: maxDatagramBytes, from: from)
            }
            return (Array(buffer[0..<received]), from)
        }
    }
}
