import ChorusBase

/// The framed TCP streams between this node and its peers: outbound ones opened on demand,
/// one per peer address, and inbound ones accepted by the listener.
///
/// Invariants:
/// - At most `maxOutbound` outbound streams are open; opening one more closes the least
///   recently used. An idle outbound stream closes itself after its idle timeout and is
///   reopened by the next send.
/// - At most `maxInbound` inbound streams are open; a connection beyond that is closed at
///   accept and reported as `.inboundRefused`.
/// - Every frame received on any stream goes to `onFrame` with the stream's peer address;
///   every stream that ends abnormally (truncated or oversized frame, failed connect, reset)
///   is reported once through `onProblem`, and so is every frame that could not be queued
///   or sealed.
/// - Only the loop thread touches it.
final class PeerStreams {
    /// Something that went wrong with a stream, for logs and counters.
    enum Problem {
        /// An outbound connect failed; frames queued for it were lost.
        case connectFailed(Endpoint, TCPCloseReason)
        /// A stream ended with an error reason (truncated frame, oversized frame, reset...).
        case closed(Endpoint, TCPCloseReason, inbound: Bool)
        /// An inbound connection arrived while `maxInbound` were open.
        case inboundRefused(Endpoint)
        /// A frame could not be queued.
        case sendFailed(Endpoint, TCPSendError)
        /// A frame could not be sealed (the seal logged why); it was not sent.
        case sealFailed(Endpoint)
    }

    private struct Outbound {
        let connection: TCPConnection
        var lastUsed: Instant
    }

    private let loop: EventLoop
    private let outboundSettings: TCPSettings
    let maxOutbound: Int
    let maxInbound: Int
    private var outbound: [Endpoint: Outbound] = [:]
    private var inbound: [ObjectIdentifier: TCPConnection] = [:]

    var onFrame: (_ payload: [UInt8], _ from: Endpoint) -> Void = { _, _ in }
    /// Seals every frame sent and opens every frame received; refused frames go nowhere.
    var seal: TransportSeal?
    var onProblem: (Problem) -> Void = { _ in }

    init(loop: EventLoop, outboundSettings: TCPSettings, maxOutbound: Int, maxInbound: Int) {
        precondition(maxOutbound > 0 && maxInbound > 0, "PeerStreams bounds must be positive")
        self.loop = loop
        self.outboundSettings = outboundSettings
        self.maxOutbound = maxOutbound
        self.maxInbound = maxInbound
    }

    var outboundCount: Int { outbound.count }
    var inboundCount: Int { inbound.count }

    /// Takes over a connection the listener accepted.
    func accept(_ connection: TCPConnection) {
        guard inbound.count < maxInbound else {
            let peer = connection.peer
            connection.close()
            onProblem(.inboundRefused(peer))
            return
        }
        let id = ObjectIdentifier(connection)
        inbound[id] = connection
        let peer = connection.peer
        connection.onFrame = { [unowned self] payload in self.deliver(payload, from: peer) }
        connection.onClose = { [unowned self] reason in
            self.inbound[id] = nil
            if reason.isError, !Self.isRoutine(reason) { self.onProblem(.closed(peer, reason, inbound: true)) }
        }
    }

    /// Queues `payload` as one frame to `peer`, connecting first when no stream is open.
    func send(_ payload: [UInt8], to peer: Endpoint) {
        let now = loop.now()
        if var entry = outbound[peer], entry.connection.state != .closed {
            entry.lastUsed = now
            outbound[peer] = entry
            queue(payload, on: entry.connection, to: peer)
            return
        }
        if outbound.count >= maxOutbound { evictLeastRecentlyUsed() }
        let connection = TCPConnection.connect(to: peer, on: loop, settings: outboundSettings)
        outbound[peer] = Outbound(connection: connection, lastUsed: now)
        var connected = false
        connection.onConnect = { connected = true }
        connection.onFrame = { [unowned self] payload in self.deliver(payload, from: peer) }
        connection.onClose = { [unowned self, weak connection] reason in
            if let current = self.outbound[peer], current.connection === connection { self.outbound[peer] = nil }
            if !connected {
                self.onProblem(.connectFailed(peer, reason))
            } else if reason.isError, !Self.isRoutine(reason) {
                self.onProblem(.closed(peer, reason, inbound: false))
            }
        }
        queue(payload, on: connection, to: peer)
    }

    /// Closes every stream (shutdown).
    func closeAll() {
        let all = outbound.values.map(\.connection) + Array(inbound.values)
        outbound = [:]
        inbound = [:]
        for c in all { c.close() }
    }

    private func deliver(_ frame: [UInt8], from peer: Endpoint) {
        guard let payload = seal.map({ $0.incoming(frame, from: peer, transport: "tcp") }) ?? frame else { return }
        onFrame(payload, peer)
    }

    private func queue(_ payload: [UInt8], on connection: TCPConnection, to peer: Endpoint) {
        guard let framed = seal.map({ $0.outgoing(payload) }) ?? payload else {
            onProblem(.sealFailed(peer))
            return
        }
        do {
            try connection.send(framed)
        } catch {
            onProblem(.sendFailed(peer, error))
        }
    }

    private func evictLeastRecentlyUsed() {
        guard let oldest = outbound.min(by: { $0.value.lastUsed < $1.value.lastUsed }) else { return }
        outbound[oldest.key] = nil
        oldest.value.connection.close()
    }

    /// Idle timeouts are how streams are meant to end; not worth a report.
    private static func isRoutine(_ reason: TCPCloseReason) -> Bool {
        if case .idleTimeout = reason { return true }
        return false
    }
}
