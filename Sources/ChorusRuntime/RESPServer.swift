import ChorusBase
import Glibc

/// A Redis-protocol (RESP2) listener on an `EventLoop`, for clients and tools that speak
/// Redis (`redis-cli`, `redis-benchmark`, client libraries). It knows the wire only: each
/// command goes to `handler`, which answers through the reply function now or later.
///
/// Invariants: never more than `maxConnections` open connections (extra ones get an error
/// and are closed); every command reaches the handler once and gets exactly one reply, and
/// replies go out in command order on each connection (pipelining is safe; by default a
/// command reaches the handler only once the ones before it were answered, except that
/// commands `isRead` calls reads may be in service together, up to `maxReads`, while only
/// reads are); malformed input
/// gets one `-ERR Protocol error` and closes only that connection. Loop thread only.
public final class RESPServer {
    /// Receives a command (`arguments[0]` is its name) and its connection's session, and
    /// answers exactly once. Commands of one connection reach it one after the other, in
    /// order, so a change to the session (AUTH) holds for every later command.
    public typealias Handler = (_ arguments: [[UInt8]], _ session: RESPSession, _ reply: @escaping (RESPValue) -> Void) -> Void

    public var localEndpoint: Endpoint { listener.localEndpoint }
    let maxConnections: Int
    let parser: RESPRequestParser
    /// Commands of one connection in service at once; past it, reading pauses. 1 (the
    /// default) keeps Redis's order: each command sees the effects of the ones before it on
    /// its connection (a pipelined GET after a DEL must not read the deleted copy, which
    /// two commands in service together could).
    let maxPipeline: Int
    /// Whether a command (by its name's bytes, as sent) only reads, so that it may be in
    /// service beside other reads of its connection: none of them sees another's effects.
    let isRead: ([UInt8]) -> Bool
    /// Reads of one connection in service at once.
    let maxReads: Int
    private let listener: TCPListener
    private let loop: EventLoop
    private let handler: Handler
    private var connections: [ObjectIdentifier: RESPConnection] = [:]

    public init(bind endpoint: Endpoint, on loop: EventLoop, maxConnections: Int = 1_024, maxPipeline: Int = 1,
                maxReads: Int = 16, isRead: @escaping ([UInt8]) -> Bool = { _ in false },
                limits: RESPRequestParser.Limits = RESPRequestParser.Limits(), handler: @escaping Handler) throws(SocketError) {
        self.loop = loop
        self.handler = handler
        self.maxConnections = max(1, maxConnections)
        self.maxPipeline = max(1, maxPipeline)
        self.maxReads = max(1, maxReads)
        self.isRead = isRead
        self.parser = RESPRequestParser(limits: limits)
        self.listener = try TCPListener(bind: endpoint, backlog: 128)
        listener.startAccepting(on: loop) { [weak self] fd, peer in
            guard let self else { Descriptor.close(fd); return }
            self.accepted(fd, peer)
        }
    }

    public var connectionCount: Int { connections.count }

    public func close() {
        listener.close()
        let open = connections.values
        connections = [:]
        for c in open { c.channel.close(.local) }
    }

    private func accepted(_ fd: Int32, _ peer: Endpoint) {
        guard connections.count < maxConnections else {
            let bytes = RESPValue.error("ERR max number of clients reached").encoded()
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Descriptor.close(fd)
            return
        }
        let c = RESPConnection(fd: fd, peer: peer, loop: loop, server: self, handler: handler)
        let id = ObjectIdentifier(c)
        connections[id] = c
        c.onClosed = { [weak self] in self?.connections[id] = nil }
    }
}

/// What a RESP connection remembers between its commands.
public final class RESPSession {
    /// Set by a successful AUTH.
    public var authenticated = false
    init() {}
}

/// One client of a `RESPServer`: commands in, replies out in the same order.
/// Invariant: `pending` holds one slot per command handed to the handler and not yet
/// written, oldest first; a slot is written only when every older one has been;
/// `inService` counts its slots not yet answered, `writesInService` those of them that are not
/// reads; a parsed command that may not start yet stays in the input (`blocked`) until an
/// answer makes room. Replies answered while a batch of input is being parsed go out in one
/// write at the end of the batch.
final class RESPConnection {
    let channel: StreamChannel
    private unowned let server: RESPServer
    private let handler: RESPServer.Handler
    private var pending: [(sequence: UInt64, reply: RESPValue?, read: Bool)] = []
    private var nextSequence: UInt64 = 0
    private var inService = 0
    private var writesInService = 0
    private var blocked = false
    private var processing = false
    static let repliesPerWrite = 64
    private var closing = false
    private let session = RESPSession()
    var onClosed: () -> Void = {}

    init(fd: Int32, peer: Endpoint, loop: EventLoop, server: RESPServer, handler: @escaping RESPServer.Handler) {
        // Room for one maximal argument plus the rest of its command, and for four maximal
        // replies; a client that lets more replies pile up unread is disconnected.
        let unit = server.parser.limits.maxArgumentBytes
        channel = StreamChannel(accepted: fd, peer: peer, loop: loop, maxIncomingBytes: unit + (64 << 10),
                                maxOutgoingBytes: 4 * unit + (64 << 10))
        self.server = server
        self.handler = handler
        channel.disableNagle()
        channel.onBytes = { [self] in self.process() }
        channel.onClosed = { [self] _ in self.onClosed(); self.onClosed = {} }
    }

    private func process() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        blocked = false
        batch: while !closing, channel.state == .open, !channel.incoming.isEmpty {
            switch server.parser.parse(channel.incoming.bytes) {
            case .needMore:
                // A command that cannot fit the input buffer would wait for ever.
                guard channel.incoming.count >= channel.maxIncomingBytes else { break batch }
                closing = true
                pending.append((nextSequence, .error("ERR Protocol error: command larger than \(channel.maxIncomingBytes) bytes"), false))
                nextSequence &+= 1
                flushReplies()
                return
            case let .skip(length):
                channel.incoming.consume(length)
            case let .invalid(why):
                closing = true
                pending.append((nextSequence, .error("ERR \(why)"), false))
                nextSequence &+= 1
                flushReplies()
                return
            case let .command(arguments, length):
                let read = arguments.first.map(server.isRead) ?? false
                guard mayStart(read: read) else {
                    blocked = true
                    break batch
                }
                channel.incoming.consume(length)
                let sequence = nextSequence
                nextSequence &+= 1
                pending.append((sequence, nil, read))
                inService += 1
                if !read { writesInService += 1 }
                handler(arguments, session) { [weak self] value in self?.answered(sequence, value) }
                // A long pipeline of quick answers goes out in pieces, so the output bound
                // holds for a client that reads as it sends.
                if pending.count >= Self.repliesPerWrite { flushReplies() }
            }
        }
        flushReplies()
        guard channel.state == .open else { return }
        channel.readingPaused = blocked
        channel.updateInterest()
    }

    /// A command may start when nothing is in service, when fewer than `maxPipeline` are, or,
    /// for a read, when only reads are and fewer than `maxReads`.
    private func mayStart(read: Bool) -> Bool {
        if inService < server.maxPipeline { return true }
        return read && writesInService == 0 && inService < server.maxReads
    }

    private func answered(_ sequence: UInt64, _ value: RESPValue) {
        guard let i = pending.firstIndex(where: { $0.sequence == sequence }), pending[i].reply == nil else { return }
        pending[i].reply = value
        inService -= 1
        if !pending[i].read { writesInService -= 1 }
        // An answer given inside `process` goes out with the rest of its batch.
        guard !processing else { return }
        flushReplies()
        if !closing, blocked {
            channel.readingPaused = false
            channel.updateInterest()
            process()
        }
    }

    /// Writes every answered reply at the front, in order; after a protocol error, closes
    /// once the error is out.
    private func flushReplies() {
        var out: [UInt8] = []
        while let first = pending.first, let reply = first.reply {
            reply.encode(into: &out)
            pending.removeFirst()
        }
        if !out.isEmpty, !channel.write(out) {
            channel.close(.local) // a client that does not read its replies
            return
        }
        if closing, pending.isEmpty { channel.closeAfterFlush(linger: .milliseconds(500)) }
    }
}
