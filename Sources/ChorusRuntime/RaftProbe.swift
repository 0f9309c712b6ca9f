import ChorusBase
import ChorusWire
import Glibc

/// Blocking one-request clients with a deadline, for finding leaders and timing failover
/// in `chorus bench raft`. Invariant: every call returns within about `timeout` (connect,
/// send and receive each bounded) and never traps on what the server sends.
public enum RaftProbe {
    /// One `RaftClientProtocol` request; nil on any failure or timeout.
    public static func chorus(_ endpoint: Endpoint, _ request: RaftClientProtocol.Request,
                              timeout: Interval) -> RaftClientProtocol.Response? {
        guard let fd = connect(endpoint, timeout: timeout) else { return nil }
        defer { Glibc.close(fd) }
        guard writeAll(fd, Frame.encode(RaftClientProtocol.encode(request))) else { return nil }
        let deadline = MonotonicClock.now() + timeout
        var buffer: [UInt8] = []
        while true {
            if case let .frame(payload, _) = Frame.parse(buffer, from: 0, maxBytes: 4 << 20) {
                guard let responses = try? RaftClientProtocol.decodeResponses(Array(buffer[payload])) else { return nil }
                return responses.first { $0.id == request.id }
            }
            guard read(fd, into: &buffer, until: deadline) else { return nil }
        }
    }

    /// One HTTP/1.1 POST with `Connection: close`; the status and body, or nil.
    public static func httpPost(_ endpoint: Endpoint, path: String, body: String, timeout: Interval) -> (status: Int, body: String)? {
        guard let fd = connect(endpoint, timeout: timeout) else { return nil }
        defer { Glibc.close(fd) }
        let request = "POST \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        guard writeAll(fd, Array(request.utf8)) else { return nil }
        let deadline = MonotonicClock.now() + timeout
        var buffer: [UInt8] = []
        while true {
            if let (status, consumed) = HTTPResponseScanner.scan(buffer[...]) {
                let text = String(decoding: buffer[..<consumed], as: UTF8.self)
                let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
                return (status, bodyText)
            }
            guard read(fd, into: &buffer, until: deadline) else { return nil }
        }
    }

    private static func connect(_ endpoint: Endpoint, timeout: Interval) -> Int32? {
        guard let fd = try? Descriptor.socket(family: SocketAddress.family(for: endpoint), type: Int32(SOCK_STREAM.rawValue), for: endpoint),
              let address = SocketAddress(endpoint, family: SocketAddress.family(for: endpoint)) else { return nil }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            guard errno == EINPROGRESS else { Glibc.close(fd); return nil }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ms = Int32(max(1, timeout.nanoseconds / 1_000_000))
            guard poll(&p, 1, ms) == 1, Descriptor.pendingError(fd) == 0 else { Glibc.close(fd); return nil }
        }
        try? Descriptor.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
        return fd
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && Descriptor.isWouldBlock(errno) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, 1000) <= 0 { return false }
                continue
            }
            return false
        }
        return true
    }

    /// Reads what is available before `deadline`; false on EOF, error or timeout.
    private static func read(_ fd: Int32, into buffer: inout [UInt8], until deadline: Instant) -> Bool {
        let remaining = deadline - MonotonicClock.now()
        guard remaining.nanoseconds > 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(max(1, remaining.nanoseconds / 1_000_000))) == 1 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }
}
