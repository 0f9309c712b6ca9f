import ChorusBase

/// One client connection of an `HTTPServer`: reads requests one at a time, hands each to
/// the handler, writes the response, and only then looks at the next (pipelined) request.
///
/// Invariants:
/// - At most one request is with the handler at a time, and responses go out in request
///   order, which makes pipelining safe.
/// - Each phase has a deadline (head, body, handler response, idle keep-alive, final flush),
///   so no client can hold the connection open by sending slowly or not at all.
/// - Any malformed request gets a JSON error and the connection closes after it.
/// - Only the loop thread touches it; responders hop to the loop.
final class HTTPServerConnection {
    private enum Phase {
        /// Waiting for a request head. `idle`: between keep-alive requests, no byte yet.
        case awaitingHead(since: Instant, idle: Bool)
        case readingBody(HTTPRequestHead, since: Instant)
        case handling(HTTPRequestHead, sequence: UInt64, since: Instant)
        case closing(since: Instant)
    }

    let channel: StreamChannel
    private let settings: HTTPServerSettings
    private let handler: HTTPServer.Handler
    private var parser: HTTPRequestParser
    private var phase: Phase
    private var sequence: UInt64 = 0
    private var timer: TimerID?
    private var processing = false
    private var processAgain = false
    /// Told once when the connection has closed (the server forgets it).
    var onClosed: () -> Void = {}
    /// Told about each request refused with an error response before reaching the handler.
    var onRefused: (HTTPParseError) -> Void = { _ in }

    private var loop: EventLoop { channel.loop }

    /// How long input is drained after an error response before closing (see
    /// `StreamChannel.closeAfterFlush(linger:)`). 2 s covers a LAN round trip many times over
    /// and bounds what a client can make us read.
    static let errorLinger = Interval.milliseconds(2_000)

    init(fd: Int32, peer: Endpoint, loop: EventLoop, settings: HTTPServerSettings, handler: @escaping HTTPServer.Handler) {
        channel = StreamChannel(accepted: fd, peer: peer, loop: loop,
                                maxIncomingBytes: settings.maxHeadBytes + settings.maxBodyBytes,
                                maxOutgoingBytes: settings.maxResponseBytes + settings.maxHeadBytes)
        self.settings = settings
        self.handler = handler
        self.parser = HTTPRequestParser(settings: settings)
        // The header clock starts at accept: a client that connects and says nothing is
        // dropped after `headerTimeout`, not `idleTimeout`.
        self.phase = .awaitingHead(since: loop.now(), idle: false)
        channel.disableNagle()
        channel.onBytes = { [self] in self.process() }
        channel.onClosed = { [self] _ in self.channelClosed() }
        armTimer()
    }

    /// Closes at once (server shutdown).
    func close() { channel.close(.local) }

    // MARK: Requests

    /// Runs `step` until it makes no more progress. Re-entrant calls (a handler responding
    /// synchronously, which then looks at the next pipelined request) only ask for another
    /// pass, so the stack does not grow with the pipeline depth.
    private func process() {
        if processing { processAgain = true; return }
        processing = true
        defer { processing = false }
        repeat {
            processAgain = false
            step()
        } while processAgain && channel.state == .open
    }

    private func step() {
        switch phase {
        case let .awaitingHead(_, idle):
            skipLeadingBlankLines()
            if channel.incoming.isEmpty { return }
            if idle {
                phase = .awaitingHead(since: loop.now(), idle: false)
                armTimer()
            }
            switch parser.parse(channel.incoming.bytes) {
            case .needMore:
                return
            case let .failure(error):
                fail(error)
            case let .head(head, length):
                channel.incoming.consume(length)
                parser.reset()
                if head.expectsContinue && head.contentLength > channel.incoming.count {
                    channel.write(HTTPResponseEncoder.continueResponse)
                }
                phase = .readingBody(head, since: loop.now())
                armTimer()
                processAgain = true
            }
        case let .readingBody(head, _):
            guard channel.incoming.count >= head.contentLength else { return }
            let body = Array(channel.incoming.bytes.prefix(head.contentLength))
            channel.incoming.consume(head.contentLength)
            dispatch(head, body: body)
        case .handling, .closing:
            return
        }
    }

    private func skipLeadingBlankLines() {
        // RFC 9112 2.2: a server should ignore empty lines before a request line.
        var n = 0
        for b in channel.incoming.bytes {
            guard b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") else { break }
            n += 1
        }
        if n > 0 {
            channel.incoming.consume(n)
            parser.reset()
        }
    }

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8]) {
        sequence += 1
        let mine = sequence
        phase = .handling(head, sequence: mine, since: loop.now())
        armTimer()
        let request = HTTPRequest(method: head.method, target: head.target, version: head.version,
                                  headers: head.headers, body: body, remote: channel.peer)
        let box = LoopBound(self)
        let loop = self.loop
        let responder = HTTPResponder { response in
            if loop.inLoopThread {
                box.value.respond(response, sequence: mine)
            } else {
                // If the inbox is full the response timeout answers instead.
                _ = loop.execute { box.value.respond(response, sequence: mine) }
            }
        }
        handler(request, responder)
    }

    /// Writes the response for request `sequence` if it is still the one being handled.
    private func respond(_ response: HTTPResponse, sequence: UInt64) {
        guard case let .handling(head, current, _) = phase, current == sequence, channel.state == .open else { return }
        var response = response
        if response.body.count > settings.maxResponseBytes {
            response = .error(500, code: "response_too_large",
                              message: "response of \(response.body.count) bytes exceeds limit of \(settings.maxResponseBytes) bytes")
        }
        let close = !head.keepAlive
        let bytes = HTTPResponseEncoder.encode(response, omitBody: head.method == .head, close: close,
                                               keepAliveHTTP10: head.version == .http10 && head.keepAlive)
        guard channel.write(bytes) else {
            channel.close(.local)
            return
        }
        if close {
            phase = .closing(since: loop.now())
            armTimer()
            channel.closeAfterFlush()
            return
        }
        phase = .awaitingHead(since: loop.now(), idle: true)
        armTimer()
        process()
    }

    /// Answers with an error and closes once it is written.
    private func fail(_ error: HTTPParseError) {
        onRefused(error)
        phase = .closing(since: loop.now())
        armTimer()
        channel.write(HTTPResponseEncoder.encode(error.response, omitBody: false, close: true))
        // Linger: the client may still be sending the request we refused.
        channel.closeAfterFlush(linger: HTTPServerConnection.errorLinger)
    }

    // MARK: Deadlines

    private func armTimer() {
        if let t = timer { loop.cancel(t) }
        timer = nil
        guard channel.state != .closed else { return }
        let deadline: Instant
        switch phase {
        case let .awaitingHead(since, idle): deadline = since + (idle ? settings.idleTimeout : settings.headerTimeout)
        case let .readingBody(_, since): deadline = since + settings.bodyTimeout
        case let .handling(_, _, since): deadline = since + settings.responseTimeout
        // A client that will not read its last response is cut off after a head's worth of time.
        case let .closing(since): deadline = since + settings.headerTimeout
        }
        timer = loop.schedule(at: deadline) { [self] in
            self.timer = nil
            self.deadlinePassed()
        }
    }

    private func deadlinePassed() {
        switch phase {
        case let .awaitingHead(_, idle):
            if idle || channel.incoming.isEmpty {
                channel.close(.local)
            } else {
                fail(HTTPParseError(status: 408, code: "request_timeout",
                                    message: "request head not received within \(settings.headerTimeout)"))
            }
        case .readingBody:
            fail(HTTPParseError(status: 408, code: "request_timeout",
                                message: "request body not received within \(settings.bodyTimeout)"))
        case let .handling(_, current, _):
            respond(.error(503, code: "response_timeout", message: "no response within \(settings.responseTimeout)"), sequence: current)
        case .closing:
            channel.close(.local)
        }
    }

    private func channelClosed() {
        if let t = timer { loop.cancel(t) }
        timer = nil
        let report = onClosed
        onClosed = {}
        report()
    }
}
