import ChorusBase
import Foundation
import Glibc

/// A small blocking HTTP/1.1 client for the command-line tools: one request per connection
/// (`Connection: close`), Content-Length, chunked or close-delimited response bodies.
///
/// Invariants: every call finishes within its `timeout` (resolution aside: `Resolver` is a
/// blocking getaddrinfo, instant for numeric addresses); a response larger than
/// `maxResponseBytes` is refused; every failure is an `HTTPClientError` whose description is
/// one line naming the peer. Never use it on an event loop thread.
public struct HTTPClient: Sendable {
    /// How errors name the other side: "cannot reach agent at 127.0.0.1:7947: ...".
    public var peerName: String
    /// Largest response accepted. Default 64 MiB, the server's own response bound.
    public var maxResponseBytes: Int

    public init(peerName: String = "agent", maxResponseBytes: Int = 64 << 20) {
        self.peerName = peerName
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends one request to `hostPort` ("127.0.0.1:7947", "[::1]:7947", "localhost:7947")
    /// and waits for the whole response.
    public func request(method: HTTPMethod = .get, _ hostPort: String, path: String, body: [UInt8]? = nil,
                        headers: HTTPHeaders = HTTPHeaders(),
                        timeout: Interval = .milliseconds(5_000)) throws(HTTPClientError) -> HTTPClientResponse {
        let deadline = MonotonicClock.now() + timeout
        let endpoints: [Endpoint]
        do { endpoints = try Resolver.resolve(hostPort) } catch { throw HTTPClientError.badAddress(error) }

        let peer = HTTPClientError.Peer(name: peerName, address: hostPort)
        let fd = try connectFirst(endpoints, peer: peer, deadline: deadline, timeout: timeout)
        defer { Descriptor.close(fd) }

        var head = "\(method.rawValue) \(path.hasPrefix("/") ? path : "/" + path) HTTP/1.1\r\n"
        head += "Host: \(hostPort)\r\n"
        head += "Connection: close\r\n"
        head += "User-Agent: chorus\r\n"
        for field in headers where !["host", "connection", "content-length"].contains(field.name.lowercased()) {
            head += "\(field.name): \(field.value)\r\n"
        }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        if body != nil && headers["Content-Type"] == nil { head += "Content-Type: application/json\r\n" }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + (body ?? []), peer: peer, deadline: deadline, timeout: timeout)

        var reader = HTTPResponseReader(maxBytes: maxResponseBytes, isHead: method == .head)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            try wait(fd, for: .readable, peer: peer, deadline: deadline, timeout: timeout)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                let code = errno
                if code == EINTR || Descriptor.isWouldBlock(code) { continue }
                throw HTTPClientError.unreachable(peer, reason: SocketError.text(for: code).lowercased())
            }
            let outcome = n == 0 ? reader.finish() : reader.feed(buffer[0..<n])
            switch outcome {
            case .needMore:
                if n == 0 { throw HTTPClientError.closedEarly(peer) }
            case let .complete(response):
                return response
            case let .malformed(reason):
                throw HTTPClientError.malformedResponse(peer, reason: reason)
            case .tooLarge:
                throw HTTPClientError.responseTooLarge(peer, limit: maxResponseBytes)
            }
        }
    }

    /// Convenience: a JSON request whose body is an `Encodable` value.
    public func requestJSON<T: Encodable>(method: HTTPMethod, _ hostPort: String, path: String, json: T,
                                          timeout: Interval = .milliseconds(5_000)) throws -> HTTPClientResponse {
        let body = Array(try JSONEncoder().encode(json))
        return try request(method: method, hostPort, path: path, body: body, timeout: timeout)
    }

    // MARK: Socket steps (shared with `HTTPClientConnection`)

    func connectFirst(_ endpoints: [Endpoint], peer: HTTPClientError.Peer, deadline: Instant,
                              timeout: Interval) throws(HTTPClientError) -> Int32 {
        var lastError = HTTPClientError.unreachable(peer, reason: "no address")
        for endpoint in endpoints {
            let family = SocketAddress.family(for: endpoint)
            guard let address = SocketAddress(endpoint, family: family) else { continue }
            let fd: Int32
            do { fd = try Descriptor.socket(family: family, type: Int32(SOCK_STREAM.rawValue), for: endpoint) } catch {
                lastError = .unreachable(peer, reason: reasonText(error))
                continue
            }
            let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return fd }
            let code = errno
            guard code == EINPROGRESS || code == EINTR else {
                Descriptor.close(fd)
                lastError = .unreachable(peer, reason: SocketError.text(for: code).lowercased())
                continue
            }
            do {
                try wait(fd, for: .writable, peer: peer, deadline: deadline, timeout: timeout)
            } catch {
                Descriptor.close(fd)
                throw error
            }
            let pending = Descriptor.pendingError(fd)
            if pending == 0 { return fd }
            Descriptor.close(fd)
            lastError = .unreachable(peer, reason: SocketError.text(for: pending).lowercased())
        }
        throw lastError
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8], peer: HTTPClientError.Peer, deadline: Instant,
                          timeout: Interval) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            try wait(fd, for: .writable, peer: peer, deadline: deadline, timeout: timeout)
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            let code = n < 0 ? errno : EAGAIN
            if code == EINTR || Descriptor.isWouldBlock(code) { continue }
            throw HTTPClientError.unreachable(peer, reason: SocketError.text(for: code).lowercased())
        }
    }

    /// Blocks until `fd` is ready for `events` or the deadline passes.
    func wait(_ fd: Int32, for events: PollEvents, peer: HTTPClientError.Peer, deadline: Instant,
                      timeout: Interval) throws(HTTPClientError) {
        while true {
            let remaining = deadline - MonotonicClock.now()
            if remaining <= .zero { throw HTTPClientError.timedOut(peer, after: timeout) }
            var p = pollfd(fd: fd, events: events.rawValue, revents: 0)
            let ms = Int32(min((remaining.nanoseconds + 999_999) / 1_000_000, 60_000))
            let rc = poll(&p, 1, ms)
            if rc > 0 { return }  // ready, or an error the next call reports
            if rc < 0 && errno != EINTR {
                throw HTTPClientError.unreachable(peer, reason: SocketError.text(for: errno).lowercased())
            }
        }
    }

    func reasonText(_ error: SocketError) -> String {
        if case let .system(_, code, _) = error { return SocketError.text(for: code).lowercased() }
        return error.description
    }
}

/// A response received by `HTTPClient`. Invariant: `body` is the complete, de-chunked body.
public struct HTTPClientResponse: Sendable, Equatable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: [UInt8]

    public var bodyText: String? { String(validating: body, as: UTF8.self) }

    /// Decodes a JSON body.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body))
    }

    /// The `{"error":{"code","message"}}` body of an API error, if that is what this is.
    public var apiError: (code: String, message: String)? {
        struct Body: Decodable { let error: Detail }
        struct Detail: Decodable { let code: String; let message: String }
        guard let decoded = try? decodeJSON(Body.self) else { return nil }
        return (decoded.error.code, decoded.error.message)
    }
}

/// Why an `HTTPClient` request failed. Invariant: `description` is one line naming the peer,
/// fit to print as a command-line error.
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Who was being talked to: a role ("agent") and the address as given.
    public struct Peer: Equatable, Sendable {
        public let name: String
        public let address: String
    }

    /// The address text could not be resolved.
    case badAddress(ResolveError)
    /// Connecting or sending failed ("connection refused", ...).
    case unreachable(Peer, reason: String)
    /// No complete response within the timeout.
    case timedOut(Peer, after: Interval)
    /// The peer closed the connection before a complete response.
    case closedEarly(Peer)
    /// The response was not valid HTTP/1.x.
    case malformedResponse(Peer, reason: String)
    /// The response exceeded the client's limit.
    case responseTooLarge(Peer, limit: Int)

    public var description: String {
        switch self {
        case let .badAddress(error): return error.description
        case let .unreachable(p, reason): return "cannot reach \(p.name) at \(p.address): \(reason)"
        case let .timedOut(p, after): return "no answer from \(p.name) at \(p.address) within \(after)"
        case let .closedEarly(p): return "\(p.name) at \(p.address) closed the connection before answering"
        case let .malformedResponse(p, reason): return "malformed response from \(p.name) at \(p.address): \(reason)"
        case let .responseTooLarge(p, limit): return "response from \(p.name) at \(p.address) exceeds \(limit) bytes"
        }
    }
}
