import ChorusBase
import Foundation
import Glibc
import Synchronization

/// Free loopback ports for agent processes: a gossip port free for both UDP and TCP, and an
/// API port free for TCP. Invariant: a port is handed out at most once per test process, so
/// tests running side by side never get the same one (the kernel could still give it to a
/// third party between the check and the agent's bind; that window is tiny).
enum FreePorts {
    private static let handedOut = Mutex<Set<UInt16>>([])

    static func pair() throws -> (gossip: UInt16, api: UInt16) {
        (try port(udpToo: true), try port(udpToo: false))
    }

    struct Exhausted: Error, CustomStringConvertible {
        var description: String { "no free loopback port pair found" }
    }

    private static func port(udpToo: Bool) throws -> UInt16 {
        for _ in 0..<100 {
            guard let candidate = bindZero(type: udpToo ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)) else { continue }
            if udpToo && !isFree(candidate, type: Int32(SOCK_STREAM.rawValue)) { continue }
            let fresh = handedOut.withLock { $0.insert(candidate).inserted }
            if fresh { return candidate }
        }
        throw Exhausted()
    }

    /// Binds port 0 on 127.0.0.1, reads the port back and closes the socket.
    private static func bindZero(type: Int32) -> UInt16? {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        addr.sin_port = 0
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard got == 0 else { return nil }
        return UInt16(bigEndian: addr.sin_port)
    }

    private static func isFree(_ port: UInt16, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        addr.sin_port = port.bigEndian
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}
