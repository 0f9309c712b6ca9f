import ChorusBase
import Glibc

/// An HTTP/1.1 server on an `EventLoop`: keep-alive, pipelining handled one request at a
/// time, Content-Length bodies only (chunked uploads get 411), bounded heads and bodies,
/// and per-phase timeouts.
///
/// A client that half-closes its side (shutdown for writing) is treated as gone: the
/// connection closes and a later response to it is dropped.
///
/// Invariants: never more than `settings.maxConnections` open connections (extra ones get a
/// 503 and are closed at once); every request reaches `handler` at most once and gets exactly
/// one response. Only the loop thread may call it once the loop runs (create it on the loop,
/// or before the loop starts).
public final class HTTPServer {
    /// Receives each well-formed request and answers through the responder, now or later.
    public typealias Handler = (HTTPRequest, HTTPResponder) -> Void

    public let settings: HTTPServerSettings
    public var localEndpoint: Endpoint { listener.localEndpoint }
    private let listener: TCPListener
    private let loop: EventLoop
    private let handler: Handler
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]

    /// Told, on the loop thread, about every request refused before it reached the handler
    /// (malformed, too large, too slow, too many connections): status, error code and peer.
    /// For logs and counters; the client has already been answered.
    public var onRefused: (_ status: Int, _ code: String, _ peer: Endpoint) -> Void = { _, _, _ in }

    /// Binds `endpoint` and starts accepting on `loop`. `settings` must pass `validate()`.
    public init(bind endpoint: Endpoint, on loop: EventLoop, settings: HTTPServerSettings = HTTPServerSettings(),
                handler: @escaping Handler) throws(SocketError) {
        do { try settings.validate() } catch { preconditionFailure("HTTPServerSettings must be validated before use: \(error)") }
        self.settings = settings
        self.loop = loop
        self.handler = handler
        self.listener = try TCPListener(bind: endpoint, backlog: 128)
        listener.startAccepting(on: loop) { [weak self] fd, peer in
            guard let self else { Descriptor.close(fd); return }
            self.accepted(fd, peer)
        }
    }

    /// Open client connections.
    public var connectionCount: Int { connections.count }

    /// Stops accepting and closes every connection (pending responses are dropped).
    public func close() {
        listener.close()
        let open = connections.values
        connections = [:]
        for connection in open { connection.close() }
    }

    private func accepted(_ fd: Int32, _ peer: Endpoint) {
        guard connections.count < settings.maxConnections else {
            // Best effort: one nonblocking write of a small answer, then close.
            let bytes = HTTPResponseEncoder.encode(
                .error(503, code: "too_many_connections", message: "server has \(settings.maxConnections) open connections; retry later"),
                omitBody: false, close: true)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Descriptor.close(fd)
            onRefused(503, "too_many_connections", peer)
            return
        }
        let connection = HTTPServerConnection(fd: fd, peer: peer, loop: loop, settings: settings, handler: handler)
        connection.onRefused = { [weak self] error in self?.onRefused(error.status, error.code, peer) }
        let id = ObjectIdentifier(connection)
        connections[id] = connection
        connection.onClosed = { [weak self] in self?.connections[id] = nil }
    }
}
