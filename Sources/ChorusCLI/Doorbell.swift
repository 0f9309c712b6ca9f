import Glibc
import ChorusBase
import ChorusRuntime

/// Wakes the thread that supervises a command (the main thread of `chorus lock acquire` or
/// `chorus dev`) when a worker has news — the acquire settled, the session was lost — while
/// it also waits for signals: a `WakeupPipe` whose read end it polls beside the `SignalPipe`.
///
/// Invariant: the pipe stays open for the life of the process (the command exits through
/// it); a full pipe means a ring is already pending, so a failed write loses nothing.
final class Doorbell: Sendable {
    private let pipe: WakeupPipe

    init() throws(CommandFailure) {
        do { pipe = try WakeupPipe() } catch { throw CommandFailure("cannot create a pipe: \(error)") }
    }

    func ring() { pipe.wake() }

    /// Waits until the bell rings, a signal arrives on `signalPipe` (its read end), or
    /// `timeout` passes; returns the signal numbers that arrived.
    func wait(signalPipe: Int32, timeout: Interval) -> [Int32] {
        var fds = [pollfd(fd: pipe.readEnd, events: Int16(POLLIN), revents: 0), pollfd(fd: signalPipe, events: Int16(POLLIN), revents: 0)]
        let ms = Int32(max(0, min(timeout.nanoseconds / 1_000_000, 60_000)))
        _ = poll(&fds, 2, ms)
        pipe.drain()
        var buffer = [UInt8](repeating: 0, count: 64)
        var signals: [Int32] = []
        while true {
            let n = read(signalPipe, &buffer, buffer.count)
            guard n > 0 else { break }
            signals += buffer[0..<n].map { Int32($0) }
        }
        return signals
    }

    /// A signal's name for messages ("SIGINT").
    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}
