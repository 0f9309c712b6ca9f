import ChorusBase
import Glibc
@testable import ChorusRuntime

/// A blocking loopback TCP client for tests that must send exactly the bytes they choose
/// (truncated frames, malformed HTTP). Reads give up after `timeout` seconds.
final class RawTCPClient {
    let fd: Int32

    init?(connectTo endpoint: Endpoint, timeoutSeconds: Int = 3) {
        let family = endpoint.ip.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let address = SocketAddress(endpoint, family: family) else { return nil }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard address.withSockAddr({ connect(fd, $0, $1) }) == 0 else { close(fd); return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    /// Stops sending (FIN) but keeps reading.
    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// Reads until the peer closes or the read times out.
    func readToEnd() -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    /// Reads until `done` holds for what was read, the peer closes, or a read times out.
    func read(until done: ([UInt8]) -> Bool) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while !done(out) {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// True when the peer closed the connection (a read returns 0 or reset) within the timeout.
    func peerClosed() -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}
