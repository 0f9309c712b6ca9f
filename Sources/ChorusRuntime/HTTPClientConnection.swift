import ChorusBase
import Glibc

/// One persistent HTTP/1.1 connection (keep-alive) for closed-loop benchmark clients: a request,
/// its whole response, the next request on the same TCP connection. `HTTPClient` opens a
/// connection per request, which on loopback costs about as much as a small request itself
/// and would hide the difference between two servers; this does not.
///
/// Same framing, limits and errors as `HTTPClient` (it uses its socket steps and
/// `HTTPResponseReader`). Requests are not pipelined. A connection the server closed while
/// idle is noticed before sending (a zero-wait poll sees the EOF), and a reused connection that
/// fails before any response byte arrives is retried once on a fresh one — the request may
/// then reach the server twice, so send only requests that are safe to repeat (ones carrying a
/// request id, or idempotent ones).
///
/// Invariant: at most one open descriptor, closed by `close()`, on `Connection: close`, on
/// any error, and on deinit. Not thread-safe: one thread owns a connection.
public final class HTTPClientConnection {
    /// "HOST:PORT" as given.
    public let address: String
    private let client: HTTPClient
    private var fd: Int32 = -1
    private var endpoints: [Endpoint] = []

    public init(_ address: String, peerName: String = "agent", maxResponseBytes: Int = 64 << 20) {
        self.address = address
        self.client = HTTPClient(peerName: peerName, maxResponseBytes: maxResponseBytes)
    }

    deinit { close() }

    /// Whether a connection is open (for tests and reports).
    public var isOpen: Bool { fd >= 0 }

    public func close() {
        if fd >= 0 { Descriptor.close(fd) }
        fd = -1
    }

    /// Sends one request and waits for its whole response, within `timeout` (per attempt).
    public func request(method: HTTPMethod = .get, path: String, body: [UInt8]? = nil, headers: HTTPHeaders = HTTPHeaders(),
                        timeout: Interval = .milliseconds(5_000)) throws(HTTPClientError) -> HTTPClientResponse {
        if fd >= 0 && closedByPeer() { close() }
        let reused = fd >= 0
        do {
            return try exchange(method: method, path: path, body: body, headers: headers, timeout: timeout)
        } catch {
            guard reused && error.stale else { throw error.failure }
        }
        do {
            return try exchange(method: method, path: path, body: body, headers: headers, timeout: timeout)
        } catch {
            throw error.failure
        }
    }

    // MARK: Steps

    private func exchange(method: HTTPMethod, path: String, body: [UInt8]?, headers: HTTPHeaders,
                          timeout: Interval) throws(HTTPClientError.Attempt) -> HTTPClientResponse {
        let deadline = MonotonicClock.now() + timeout
        let peer = HTTPClientError.Peer(name: client.peerName, address: address)
        if fd < 0 {
            if endpoints.isEmpty {
                do { endpoints = try Resolver.resolve(address) } catch { throw .init(failure: .badAddress(error), stale: false) }
            }
            do { fd = try client.connectFirst(endpoints, peer: peer, deadline: deadline, timeout: timeout) } catch {
                throw .init(failure: error, stale: false)
            }
            // Requests are written with one send, but the kernel may still hold a short tail
            // back for the previous segment's ACK (Nagle); latency matters more here.
            try? Descriptor.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
        }
        var head = "\(method.rawValue) \(path.hasPrefix("/") ? path : "/" + path) HTTP/1.1\r\n"
        head += "Host: \(address)\r\nUser-Agent: chorus\r\n"
        for field in headers where !["host", "connection", "content-length"].contains(field.name.lowercased()) {
            head += "\(field.name): \(field.value)\r\n"
        }
        if let body {
            head += "Content-Length: \(body.count)\r\n"
            if headers["Content-Type"] == nil { head += "Content-Type: application/json\r\n" }
        }
        head += "\r\n"
        do {
            try client.writeAll(fd, Array(head.utf8) + (body ?? []), peer: peer, deadline: deadline, timeout: timeout)
        } catch {
            close()
            throw .init(failure: error, stale: true)
        }
        var reader = HTTPResponseReader(maxBytes: client.maxResponseBytes, isHead: method == .head)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var received = 0
        while true {
            do { try client.wait(fd, for: .readable, peer: peer, deadline: deadline, timeout: timeout) } catch {
                close()
                throw .init(failure: error, stale: false)
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                let code = errno
                if code == EINTR || Descriptor.isWouldBlock(code) { continue }
                close()
                throw .init(failure: .unreachable(peer, reason: SocketError.text(for: code).lowercased()), stale: received == 0)
            }
            received += n
            switch n == 0 ? reader.finish() : reader.feed(buffer[0..<n]) {
            case .needMore:
                if n == 0 {
                    close()
                    throw .init(failure: .closedEarly(peer), stale: received == 0)
                }
            case let .complete(response):
                // A close-delimited body ends with the EOF; otherwise the server may still say so.
                if n == 0 || response.headers.hasToken("close", in: "Connection") { close() }
                return response
            case let .malformed(reason):
                close()
                throw .init(failure: .malformedResponse(peer, reason: reason), stale: false)
            case .tooLarge:
                close()
                throw .init(failure: .responseTooLarge(peer, limit: client.maxResponseBytes), stale: false)
            }
        }
    }

    /// Whether the idle connection has been closed (or has unexpected bytes waiting): a
    /// zero-wait poll reports it readable.
    private func closedByPeer() -> Bool {
        var p = pollfd(fd: fd, events: PollEvents.readable.rawValue, revents: 0)
        return poll(&p, 1, 0) != 0
    }
}

extension HTTPClientError {
    /// A failed attempt of `HTTPClientConnection`, and whether it failed in a way a connection
    /// the server had already closed would (nothing came back), so a retry on a new one is due.
    struct Attempt: Error {
        let failure: HTTPClientError
        let stale: Bool
    }
}
