import ChorusBase
import Glibc

/// A nonblocking listening TCP socket. Invariants: the descriptor is closed exactly once (by
/// `close()` or deinit); an accept failure never traps or spins: descriptor exhaustion pauses
/// accepting briefly and other failures are skipped. Only the loop thread may call it once
/// `start` has registered it.
///
/// SO_REUSEADDR is set (unlike UDP): it lets a restarted agent bind while old connections sit
/// in TIME_WAIT, and Linux still refuses a second live listener on the same port.
public final class TCPListener {
    public let localEndpoint: Endpoint
    /// The listening descriptor; -1 once closed.
    public private(set) var fd: Int32
    private var loop: EventLoop?
    private var onAcceptDescriptor: ((Int32, Endpoint) -> Void)?
    private var resumeTimer: TimerID?

    /// How long accepting pauses after the process runs out of descriptors, so the loop
    /// does not spin on a listener that stays readable.
    static let exhaustionPause = Interval.milliseconds(100)

    /// Binds and listens on `endpoint` (port 0 picks a free port; read `localEndpoint`).
    public init(bind endpoint: Endpoint, backlog: Int32 = 128) throws(SocketError) {
        let family = SocketAddress.family(for: endpoint)
        let fd = try Descriptor.socket(family: family, type: Int32(SOCK_STREAM.rawValue), for: endpoint)
        do throws(SocketError) {
            try Descriptor.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, call: "setsockopt(SO_REUSEADDR)")
            try Descriptor.bind(fd, to: endpoint, family: family)
            if Glibc.listen(fd, backlog) != 0 {
                throw SocketError.from(errno: errno, call: "listen", endpoint: endpoint)
            }
        } catch {
            Descriptor.close(fd)
            throw error
        }
        self.fd = fd
        self.localEndpoint = Descriptor.localEndpoint(fd, fallback: endpoint)
    }

    deinit {
        if fd >= 0 { Descriptor.close(fd) }
    }

    /// Accepts framed connections on `loop`, handing each to `onAccept` (set its callbacks
    /// there). The listener stays registered until `close()`.
    public func start(on loop: EventLoop, settings: TCPSettings = TCPSettings(),
                      onAccept: @escaping (TCPConnection) -> Void) {
        startAccepting(on: loop) { fd, peer in
            onAccept(TCPConnection(accepted: fd, peer: peer, loop: loop, settings: settings))
        }
    }

    /// Accepts raw descriptors (nonblocking, close-on-exec) for protocols other than frames.
    func startAccepting(on loop: EventLoop, _ handler: @escaping (Int32, Endpoint) -> Void) {
        precondition(self.loop == nil, "TCPListener.start called twice")
        self.loop = loop
        self.onAcceptDescriptor = handler
        loop.register(fd: fd, events: .readable) { [self] _ in self.acceptPending() }
    }

    /// Stops accepting and closes the socket. Connections already accepted are unaffected.
    public func close() {
        guard fd >= 0 else { return }
        if let loop {
            loop.unregister(fd: fd)
            if let t = resumeTimer { loop.cancel(t) }
        }
        resumeTimer = nil
        onAcceptDescriptor = nil
        Descriptor.close(fd)
        fd = -1
    }

    /// Accepts one pending connection: nil when none waits.
    func accept() throws(SocketError) -> (fd: Int32, peer: Endpoint)? {
        guard fd >= 0 else { throw SocketError.closed }
        while true {
            var address = SocketAddress()
            let client = address.withMutableSockAddr { sa, len in
                Glibc.accept(fd, sa, len)
            }
            if client >= 0 {
                // Glibc's Swift overlay lacks accept4, so set the flags in two more calls.
                Descriptor.makeNonblockingAndCloseOnExec(client)
                let peer = address.endpoint ?? Endpoint(ip: .anyV4, port: 0)
                return (client, peer)
            }
            let code = errno
            if code == EINTR || code == ECONNABORTED { continue }
            if Descriptor.isWouldBlock(code) { return nil }
            throw SocketError.from(errno: code, call: "accept", endpoint: localEndpoint)
        }
    }

    private func acceptPending() {
        // Bounded per turn so a connection flood cannot starve the rest of the loop.
        for _ in 0..<64 {
            guard fd >= 0, let handler = onAcceptDescriptor else { return }
            do {
                guard let (client, peer) = try accept() else { return }
                handler(client, peer)
            } catch {
                pauseAccepting()
                return
            }
        }
    }

    private func pauseAccepting() {
        guard let loop, fd >= 0 else { return }
        loop.update(fd: fd, events: [])
        resumeTimer = loop.schedule(after: TCPListener.exhaustionPause) { [self] in
            self.resumeTimer = nil
            if self.fd >= 0 { loop.update(fd: self.fd, events: .readable) }
        }
    }
}
