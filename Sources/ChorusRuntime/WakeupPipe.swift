import Glibc

/// A nonblocking pipe whose read end sits in a poll set, so another thread can interrupt a
/// blocking poll(2) (the event loop's, or `chorus lock acquire`'s supervisor). Invariant: both
/// ends stay open until `close()`; a full pipe means a wake-up is already pending, so a failed
/// write loses nothing.
public struct WakeupPipe: Sendable {
    public let readEnd: Int32
    let writeEnd: Int32

    public init() throws(EventLoopError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EventLoopError.wakeupPipe(errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe so poll stops reporting it readable.
    public func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buf, buf.count) > 0 {}
    }

    public func close() {
        Descriptor.close(readEnd)
        Descriptor.close(writeEnd)
    }
}

/// Why an event loop could not be created or started.
public enum EventLoopError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wake-up pipe could not be created (usually out of file descriptors).
    case wakeupPipe(errno: Int32)
    /// The loop thread could not be spawned.
    case threadStart(errno: Int32)

    public var description: String {
        switch self {
        case let .wakeupPipe(code): return "cannot create event loop wake-up pipe: \(SocketError.text(for: code))"
        case let .threadStart(code): return "cannot start event loop thread: \(SocketError.text(for: code))"
        }
    }
}
