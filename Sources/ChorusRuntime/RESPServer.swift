import ChorusBase
import Glibc

/// A RESP2 listener on an `EventLoop` (the cache's Redis-compatible front door): each
/// connection's commands are parsed and handed to `handler` one at a time, in order, and the
/// answers written in that order, so pipelining is safe.
///
/// Invariants: at most `maxConnections` open connections (one more is answered with an error
/// and closed); a connection holds at most `RESPCommand.maxArgumentBytes` plus a little of
/// unread input (reading pauses beyond it); a malformed command gets one error and the
/// connection closes. Only the loop thread touches it.
final class RESPServer {
    /// Answers one command; `authenticated` is the connection's AUTH state.
    typealias Handler = (_ arguments: [[UInt8]], _ authenticated: inout Bool, _ answer: @escaping (RESPReply) -> Void) -> Void

    static let maxConnections = 1_024
    var localEndpoint: Endpoint { listener.localEndpoint }
    private let listener: TCPListener
    private let loop: EventLoop
    private let handler: Handler
    private var connections: [ObjectIdentifier: RESPConnection] = [:]

    init(bind endpoint: Endpoint, on loop: EventLoop, handler: @escaping Handler) throws(SocketError) {
        self.loop = loop
        self.handler = handler
        listener = try TCPListener(bind: endpoint, backlog: 128)
        listener.startAccepting(on: loop) { [weak self] fd, peer in
            guard let self else { Descriptor.close(fd); return }
            self.accepted(fd, peer)
        }
    }

    func close() {
        listener.close()
        let open = connections.values
        connections = [:]
        for c in open { c.channel.close(.local) }
    }

    private func accepted(_ fd: Int32, _ peer: Endpoint) {
        guard connections.count < Self.maxConnections else {
            let bytes = RESPReply.error("ERR too many connections").encoded
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Descriptor.close(fd)
            return
        }
        let connection = RESPConnection(fd: fd, peer: peer, loop: loop, handler: handler)
        let id = ObjectIdentifier(connection)
        connections[id] = connection
        connection.channel.onClosed = { [weak self] _ in self?.connections[id] = nil }
    }
}

/// One RESP client: reads a command, waits for its answer, writes it, then reads the next.
final class RESPConnection {
    let channel: StreamChannel
    private let handler: RESPServer.Handler
    private var busy = false
    private var authenticated = false

    init(fd: Int32, peer: Endpoint, loop: EventLoop, handler: @escaping RESPServer.Handler) {
        channel = StreamChannel(accepted: fd, peer: peer, loop: loop, maxIncomingBytes: RESPCommand.maxArgumentBytes * 2,
                                maxOutgoingBytes: RESPCommand.maxArgumentBytes * 4)
        self.handler = handler
        channel.disableNagle()
        channel.onBytes = { [weak self] in self?.process() }
    }

    private func process() {
        while !busy, channel.state == .open, !channel.incoming.isEmpty {
            switch RESPCommand.parse(Array(channel.incoming.bytes)) {
            case .needMore:
                return
            case let .failure(why):
                channel.write(RESPReply.error("ERR Protocol error: \(why)").encoded)
                channel.closeAfterFlush()
                return
            case let .command(arguments, consumed):
                channel.incoming.consume(consumed)
                guard !arguments.isEmpty else { continue }
                busy = true
                // An answer given before the handler returns only clears `busy` (this loop
                // goes on); a later one reads the next command itself. The AUTH state is
                // handed in as a copy, so no answer runs while it is being changed.
                var auth = authenticated
                var handling = true
                handler(arguments, &auth) { [weak self] reply in
                    guard let self else { return }
                    self.channel.write(reply.encoded)
                    self.busy = false
                    if !handling { self.process() }
                }
                handling = false
                authenticated = auth
            }
        }
    }
}
