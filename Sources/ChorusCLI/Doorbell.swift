import Glibc
import ChorusBase

/// Wakes the thread that supervises `chorus lock acquire` (the main thread) when a worker has
/// news — the acquire settled, the session was lost — while it also waits for signals: a pipe
/// whose read end it polls beside the `SignalPipe`.
///
/// Invariant: both ends stay open for the life of the process (the command exits through
/// them); a full pipe means a ring is already pending, so a failed write loses nothing.
final class Doorbell: @unchecked Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    init() throws(CommandFailure) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw CommandFailure("cannot create a pipe: errno \(errno)") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    func ring() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Waits until the bell rings, a signal arrives on `signalPipe` (its read end), or
    /// `timeout` passes; returns the signal numbers that arrived.
    func wait(signalPipe: Int32, timeout: Interval) -> [Int32] {
        var fds = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0), pollfd(fd: signalPipe, events: Int16(POLLIN), revents: 0)]
        let ms = Int32(max(0, min(timeout.nanoseconds / 1_000_000, 60_000)))
        _ = poll(&fds, 2, ms)
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
        var signals: [Int32] = []
        while true {
            let n = read(signalPipe, &buffer, buffer.count)
            guard n > 0 else { break }
            signals += buffer[0..<n].map { Int32($0) }
        }
        return signals
    }
}
