import ChorusBase
import ChorusWire

/// A TCP connection carrying length-prefixed frames (ChorusWire `Frame`), driven by an
/// `EventLoop`.
///
/// Invariants:
/// - `onFrame` receives whole payloads, in order, each at most `settings.maxFrameBytes`; a
///   header announcing more closes the connection with `.oversizedFrame` before any of that
///   frame is buffered, so input memory stays under one maximum frame.
/// - Output queued for the peer never exceeds `settings.maxOutgoingBytes`; `send` refuses
///   the frame whole beyond that.
/// - `onClose` runs exactly once, after which no callback runs and the descriptor is closed.
/// - An open connection keeps itself alive through its loop registration; it is released
///   after it closes. Only the loop thread may call it (set it up on the loop, or before the
///   loop starts).
public final class TCPConnection {
    public enum State: Sendable, Equatable { case connecting, open, closed }

    public let settings: TCPSettings
    private let channel: StreamChannel
    private var idleTimer: TimerID?
    private var connectTimer: TimerID?

    /// Called with each complete frame payload.
    public var onFrame: ([UInt8]) -> Void = { _ in }
    /// Called once when an outgoing connect completes.
    public var onConnect: () -> Void = {}
    /// Called exactly once, with the reason, when the connection closes.
    public var onClose: (TCPCloseReason) -> Void = { _ in }

    public var peer: Endpoint { channel.peer }
    public var localEndpoint: Endpoint { channel.localEndpoint }
    public var state: State {
        switch channel.state {
        case .connecting: return .connecting
        case .open: return .open
        case .closed: return .closed
        }
    }
    /// Bytes queued for the peer and not yet accepted by the kernel.
    public var pendingOutputBytes: Int { channel.pendingOutputCount }

    /// Starts connecting to `peer`. Every outcome, including an immediate failure, arrives
    /// through the callbacks on a later loop turn: `onConnect`, or `onClose` with
    /// `.connectTimeout` or `.failed`. Frames sent before the connect completes are queued.
    /// `settings` must pass `validate()` (check configuration input before it gets here).
    public static func connect(to peer: Endpoint, on loop: EventLoop, settings: TCPSettings = TCPSettings()) -> TCPConnection {
        let channel = StreamChannel(connectingTo: peer, loop: loop,
                                    maxIncomingBytes: settings.maxFrameBytes + 4,
                                    maxOutgoingBytes: settings.maxOutgoingBytes)
        let connection = TCPConnection(channel: channel, settings: settings)
        connection.connectTimer = loop.schedule(after: settings.connectTimeout) { [connection] in
            connection.connectTimer = nil
            if connection.channel.state == .connecting {
                connection.finish(.connectTimeout(settings.connectTimeout))
            }
        }
        return connection
    }

    /// Wraps an accepted descriptor (used by `TCPListener`).
    convenience init(accepted fd: Int32, peer: Endpoint, loop: EventLoop, settings: TCPSettings) {
        let channel = StreamChannel(accepted: fd, peer: peer, loop: loop,
                                    maxIncomingBytes: settings.maxFrameBytes + 4,
                                    maxOutgoingBytes: settings.maxOutgoingBytes)
        self.init(channel: channel, settings: settings)
        channel.disableNagle()
        armIdleTimer()
    }

    private init(channel: StreamChannel, settings: TCPSettings) {
        do { try settings.validate() } catch { preconditionFailure("TCPSettings must be validated before use: \(error)") }
        self.channel = channel
        self.settings = settings
        // The channel's callbacks hold the connection strongly while it is open; `close`
        // releases them.
        channel.onBytes = { [self] in self.parseFrames() }
        channel.onConnected = { [self] in
            if let t = self.connectTimer { self.channel.loop.cancel(t); self.connectTimer = nil }
            self.channel.disableNagle()
            self.armIdleTimer()
            self.onConnect()
        }
        channel.onClosed = { [self] cause in self.channelClosed(cause) }
    }

    /// Queues one frame for the peer.
    public func send(_ payload: [UInt8]) throws(TCPSendError) {
        guard channel.state != .closed else { throw TCPSendError.closed }
        guard payload.count <= settings.maxFrameBytes else {
            throw TCPSendError.frameTooLarge(size: payload.count, limit: settings.maxFrameBytes)
        }
        guard channel.write(Frame.encode(payload)) else {
            if channel.state == .closed { throw TCPSendError.closed }
            throw TCPSendError.outgoingBufferFull(queued: channel.pendingOutputCount, limit: settings.maxOutgoingBytes)
        }
    }

    /// Queues several frames with one write (one system call where the kernel takes them
    /// all); all or none are queued.
    public func send(frames payloads: [[UInt8]]) throws(TCPSendError) {
        guard channel.state != .closed else { throw TCPSendError.closed }
        var total = 0
        for p in payloads {
            guard p.count <= settings.maxFrameBytes else {
                throw TCPSendError.frameTooLarge(size: p.count, limit: settings.maxFrameBytes)
            }
            total += p.count + 4
        }
        var w = ByteWriter(capacity: total)
        for p in payloads { Frame.append(p, to: &w) }
        guard channel.write(w.bytes) else {
            if channel.state == .closed { throw TCPSendError.closed }
            throw TCPSendError.outgoingBufferFull(queued: channel.pendingOutputCount, limit: settings.maxOutgoingBytes)
        }
    }

    /// Closes at once, discarding unsent output; `onClose(.closedLocally)` follows.
    public func close() {
        finish(.closedLocally)
    }

    /// Stops reading, sends what is queued, then closes; `onClose(.closedLocally)` follows.
    public func closeWhenFlushed() {
        channel.closeAfterFlush()
    }

    // MARK: Internals

    private var pendingReason: TCPCloseReason?

    /// Closes the channel, reporting `reason` rather than whatever the channel would say.
    private func finish(_ reason: TCPCloseReason) {
        guard channel.state != .closed else { return }
        pendingReason = reason
        channel.close(.local)
    }

    private func channelClosed(_ cause: StreamChannel.CloseCause) {
        let reason: TCPCloseReason
        if let pending = pendingReason {
            reason = pending
        } else {
            switch cause {
            case .local: reason = .closedLocally
            case let .failed(error): reason = .failed(error)
            case .endOfInput: reason = endOfInputReason()
            }
        }
        let loop = channel.loop
        if let t = idleTimer { loop.cancel(t); idleTimer = nil }
        if let t = connectTimer { loop.cancel(t); connectTimer = nil }
        let report = onClose
        onFrame = { _ in }
        onConnect = {}
        onClose = { _ in }
        report(reason)
    }

    /// EOF on a frame boundary is orderly; anywhere else the peer cut a frame short.
    private func endOfInputReason() -> TCPCloseReason {
        let buffered = channel.incoming.count
        if buffered == 0 { return .closedByPeer }
        switch Frame.parse(channel.incoming.storage, from: channel.incoming.head, maxBytes: settings.maxFrameBytes) {
        case .needMore:
            if buffered < 4 { return .truncatedFrame(received: buffered, expected: nil) }
            var length = 0
            for byte in channel.incoming.bytes.prefix(4) { length = length << 8 | Int(byte) }
            return .truncatedFrame(received: buffered, expected: length + 4)
        case let .oversized(length):
            return .oversizedFrame(length: length, limit: settings.maxFrameBytes)
        case .frame:
            // Unreachable in practice: complete frames are consumed as they arrive.
            return .truncatedFrame(received: buffered, expected: nil)
        }
    }

    private func parseFrames() {
        while channel.state == .open {
            switch Frame.parse(channel.incoming.storage, from: channel.incoming.head, maxBytes: settings.maxFrameBytes) {
            case .needMore:
                return
            case let .oversized(length):
                finish(.oversizedFrame(length: length, limit: settings.maxFrameBytes))
                return
            case let .frame(payload, consumed):
                let bytes = Array(channel.incoming.storage[payload])
                channel.incoming.consume(consumed)
                onFrame(bytes)
            }
        }
    }

    private func armIdleTimer() {
        guard let idle = settings.idleTimeout, channel.state == .open else { return }
        let loop = channel.loop
        idleTimer = loop.schedule(at: channel.lastActivity + idle) { [self] in
            self.idleTimer = nil
            guard self.channel.state == .open else { return }
            if loop.now() - self.channel.lastActivity >= idle {
                self.finish(.idleTimeout(idle))
            } else {
                self.armIdleTimer()
            }
        }
    }
}
