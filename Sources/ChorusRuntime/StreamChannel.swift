import ChorusBase
import Glibc

/// A nonblocking stream socket driven by an event loop, with bounded input and output
/// queues. The protocol layered on top (frames, HTTP) reads `incoming` and calls `write`.
///
/// Invariants:
/// - `incoming` never grows past `maxIncomingBytes`: reading pauses at the limit and resumes
///   when the owner consumes bytes and calls `updateInterest()`.
/// - `outgoing` never grows past `maxOutgoingBytes`: `write` refuses a message that would not
///   fit, whole, instead of queueing part of it.
/// - `onClosed` runs exactly once; after it the descriptor is closed and unregistered and all
///   callbacks are released (which breaks reference cycles through them).
/// - Only the loop thread touches it.
final class StreamChannel {
    /// Why a channel closed.
    enum CloseCause: Equatable {
        /// The peer sent FIN (read returned 0).
        case endOfInput
        /// A socket call failed.
        case failed(SocketError)
        /// The owner closed it.
        case local
    }

    enum State { case connecting, open, closed }

    let loop: EventLoop
    let peer: Endpoint
    let maxIncomingBytes: Int
    let maxOutgoingBytes: Int
    private(set) var fd: Int32
    private(set) var state: State
    private(set) var localEndpoint: Endpoint
    /// When bytes last moved in either direction (or the channel was made).
    private(set) var lastActivity: Instant

    var incoming = ByteQueue()
    private var outgoing = ByteQueue()
    private var closeWhenFlushed = false
    /// After the last byte is written: how long to keep reading and discarding input before
    /// closing (nil: close at once).
    private var lingerAfterFlush: Interval?
    /// True once output is shut down and input is being drained before the close.
    private var lingering = false
    private var lingerTimer: TimerID?
    /// Set by the owner to stop reading (for example, while a request is being answered).
    var readingPaused = false

    /// New bytes were appended to `incoming`.
    var onBytes: () -> Void = {}
    /// An outgoing connect finished.
    var onConnected: () -> Void = {}
    var onClosed: (CloseCause) -> Void = { _ in }

    /// Wraps an accepted (already connected) descriptor.
    init(accepted fd: Int32, peer: Endpoint, loop: EventLoop, maxIncomingBytes: Int, maxOutgoingBytes: Int) {
        self.loop = loop
        self.fd = fd
        self.peer = peer
        self.maxIncomingBytes = maxIncomingBytes
        self.maxOutgoingBytes = maxOutgoingBytes
        self.state = .open
        self.localEndpoint = Descriptor.localEndpoint(fd, fallback: Endpoint(ip: .anyV4, port: 0))
        self.lastActivity = loop.now()
        loop.register(fd: fd, events: .readable) { events in self.handle(events) }
    }

    deinit {
        // Only reached without `close` when the loop stopped and dropped its registrations.
        if fd >= 0 { Descriptor.close(fd) }
    }

    /// Starts a nonblocking connect to `peer`. A failure to even start is reported through
    /// `onClosed` on a later loop turn, so the owner has time to set its callbacks.
    init(connectingTo peer: Endpoint, loop: EventLoop, maxIncomingBytes: Int, maxOutgoingBytes: Int) {
        self.loop = loop
        self.peer = peer
        self.maxIncomingBytes = maxIncomingBytes
        self.maxOutgoingBytes = maxOutgoingBytes
        self.state = .connecting
        self.fd = -1
        self.localEndpoint = Endpoint(ip: peer.ip.isIPv4 ? .anyV4 : IPAddress(high: 0, low: 0), port: 0)
        self.lastActivity = loop.now()
        do {
            try beginConnect()
        } catch {
            loop.schedule(after: .zero) { [self] in self.close(.failed(error)) }
        }
    }

    private func beginConnect() throws(SocketError) {
        let family = SocketAddress.family(for: peer)
        let fd = try Descriptor.socket(family: family, type: Int32(SOCK_STREAM.rawValue), for: peer)
        self.fd = fd
        guard let address = SocketAddress(peer, family: family) else {
            throw SocketError.system(call: "connect", errno: EAFNOSUPPORT, endpoint: peer)
        }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 {
            // Loopback connects can finish at once; report it on the next turn like any other.
            loop.register(fd: fd, events: .writable) { events in self.handle(events) }
            return
        }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else {
            throw SocketError.from(errno: code, call: "connect", endpoint: peer)
        }
        loop.register(fd: fd, events: .writable) { events in self.handle(events) }
    }

    /// Sets TCP_NODELAY: frames and responses are whole messages, so Nagle only adds latency.
    func disableNagle() {
        guard fd >= 0 else { return }
        try? Descriptor.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
    }

    /// Bytes queued and not yet written.
    var pendingOutputCount: Int { outgoing.count }

    /// Queues `bytes` and writes as much as the kernel takes now. Returns false, queueing
    /// nothing, when the channel is closed or the bytes would overflow the output bound.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard state != .closed, !closeWhenFlushed else { return false }
        guard outgoing.count + bytes.count <= maxOutgoingBytes else { return false }
        outgoing.append(bytes)
        if state == .open { flush() }
        if state != .closed { updateInterest() }
        return true
    }

    /// Closes once everything queued has been written (at once if nothing is queued).
    ///
    /// With `linger`, the channel then sends FIN and reads and discards input for up to that
    /// long before closing. Closing with unread input makes the kernel send RST, which can
    /// destroy a final error response the client has not read yet (Apache's "lingering
    /// close" problem); draining first lets it arrive.
    func closeAfterFlush(linger: Interval? = nil) {
        guard state != .closed, !closeWhenFlushed else { return }
        closeWhenFlushed = true
        lingerAfterFlush = linger
        if state == .open && outgoing.isEmpty { flushCompleted() }
    }

    /// Recomputes the poll interest from the queues and the paused flag.
    func updateInterest() {
        guard state != .closed, fd >= 0 else { return }
        var events: PollEvents = []
        switch state {
        case .connecting:
            events = .writable
        case .open:
            if lingering || (!readingPaused && !closeWhenFlushed && incoming.count < maxIncomingBytes) { events.insert(.readable) }
            if !outgoing.isEmpty { events.insert(.writable) }
        case .closed:
            return
        }
        loop.update(fd: fd, events: events)
    }

    /// Closes now, discarding queued output, and reports `cause` (once).
    func close(_ cause: CloseCause) {
        guard state != .closed else { return }
        state = .closed
        if fd >= 0 {
            loop.unregister(fd: fd)
            Descriptor.close(fd)
            fd = -1
        }
        outgoing.removeAll()
        if let t = lingerTimer { loop.cancel(t); lingerTimer = nil }
        let report = onClosed
        onBytes = {}
        onConnected = {}
        onClosed = { _ in }
        report(cause)
    }

    // MARK: Readiness

    private func handle(_ events: PollEvents) {
        switch state {
        case .connecting: finishConnect(events)
        case .open: handleOpen(events)
        case .closed: return
        }
    }

    private func finishConnect(_ events: PollEvents) {
        let code = Descriptor.pendingError(fd)
        if code != 0 {
            close(.failed(SocketError.from(errno: code, call: "connect", endpoint: peer)))
            return
        }
        if !events.isDisjoint(with: [.error, .hangup, .invalid]) && !events.contains(.writable) {
            close(.failed(SocketError.connectionRefused(peer)))
            return
        }
        state = .open
        localEndpoint = Descriptor.localEndpoint(fd, fallback: localEndpoint)
        lastActivity = loop.now()
        onConnected()
        guard state == .open else { return }
        flush()
        updateInterest()
    }

    private func handleOpen(_ events: PollEvents) {
        if events.contains(.invalid) {
            close(.failed(.system(call: "poll", errno: EBADF, endpoint: peer)))
            return
        }
        if lingering {
            discardInput()
            return
        }
        if events.contains(.writable) || events.contains(.error) {
            flush()
            guard state == .open else { return }
        }
        let canRead = !readingPaused && incoming.count < maxIncomingBytes
        if !events.isDisjoint(with: [.readable, .hangup, .error]) && canRead {
            readAvailable()
            guard state == .open else { return }
        }
        // poll reports error and hang-up even without interest; if they cannot be consumed by
        // reading (paused, or input full), act on them now instead of spinning.
        if events.contains(.error) {
            let code = Descriptor.pendingError(fd)
            if code != 0 {
                close(.failed(SocketError.from(errno: code, call: "recv", endpoint: peer)))
                return
            }
        }
        if events.contains(.hangup) && !canRead {
            close(.endOfInput)
            return
        }
        updateInterest()
    }

    private func readAvailable() {
        // Bounded per turn so one busy peer cannot starve the others on the loop.
        var budget = 256 * 1024
        var gotBytes = false
        while budget > 0 && state == .open && !readingPaused {
            let room = min(64 * 1024, maxIncomingBytes - incoming.count, budget)
            if room <= 0 { break }
            var code: Int32 = 0
            let n = incoming.appendUsing(maxCount: room) { raw in
                let r = recv(fd, raw.baseAddress, raw.count, 0)
                if r < 0 { code = errno }
                return r
            }
            if n > 0 {
                gotBytes = true
                budget -= n
                lastActivity = loop.now()
                // A short read emptied the socket's queue: asking again would only return
                // EAGAIN, one wasted system call per readable connection per turn. Poll is
                // level-triggered, so bytes that arrive meanwhile are reported next turn.
                if n < room { break }
                continue
            }
            if n == 0 {
                if gotBytes { onBytes() }
                close(.endOfInput)
                return
            }
            if code == EINTR { continue }
            if Descriptor.isWouldBlock(code) { break }
            close(.failed(SocketError.from(errno: code, call: "recv", endpoint: peer)))
            return
        }
        if gotBytes { onBytes() }
    }

    private func flush() {
        while !outgoing.isEmpty {
            let n = outgoing.bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outgoing.consume(n)
                lastActivity = loop.now()
                continue
            }
            let code = n < 0 ? errno : EAGAIN
            if code == EINTR { continue }
            if Descriptor.isWouldBlock(code) { return }
            close(.failed(SocketError.from(errno: code, call: "send", endpoint: peer)))
            return
        }
        if closeWhenFlushed { flushCompleted() }
    }

    /// Everything queued is written and a close was requested.
    private func flushCompleted() {
        guard let linger = lingerAfterFlush else {
            close(.local)
            return
        }
        lingering = true
        _ = shutdown(fd, Int32(SHUT_WR))
        lingerTimer = loop.schedule(after: linger) { [self] in
            self.lingerTimer = nil
            self.close(.local)
        }
        updateInterest()
    }

    /// While lingering: read and drop input until EOF, an error, or nothing is left for now.
    private func discardInput() {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<64 {
            let n = recv(fd, &scratch, scratch.count, 0)
            if n > 0 { continue }
            if n < 0 && (errno == EINTR) { continue }
            if n < 0 && Descriptor.isWouldBlock(errno) { return }
            close(.local)  // EOF or error: the peer has seen our FIN
            return
        }
    }
}
