import Glibc
import Synchronization

/// Turns SIGTERM and SIGINT into readable bytes on a pipe the event loop watches (the
/// self-pipe trick), replacing the default handlers that would kill the process at once.
///
/// Invariants: the C handler does nothing but one `write(2)` of the signal number, which is
/// async-signal-safe; the signals are unblocked on the installing thread (call `install` on
/// the thread that runs the loop, before starting others); at most one pipe is installed per process (installing again reuses
/// it); a full pipe drops the byte, which loses nothing because a signal is already pending.
public final class SignalPipe: @unchecked Sendable {
    /// The write end the handler uses; -1 until installed. Atomic because the handler may run
    /// on any thread.
    private static let writeEnd = Atomic<Int32>(-1)
    private static let installed = Mutex<SignalPipe?>(nil)

    public let readEnd: Int32
    private var loop: EventLoop?

    private init(readEnd: Int32) { self.readEnd = readEnd }

    /// Installs the handlers for `signals` (default SIGTERM and SIGINT) and returns the pipe.
    public static func install(signals: [Int32] = [SIGTERM, SIGINT]) throws(EventLoopError) -> SignalPipe {
        try installed.withLock { (slot: inout SignalPipe?) throws(EventLoopError) -> SignalPipe in
            if let existing = slot {
                for s in signals { setHandler(s) }
                return existing
            }
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw EventLoopError.wakeupPipe(errno: errno) }
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            writeEnd.store(fds[1], ordering: .releasing)
            for s in signals { setHandler(s) }
            let created = SignalPipe(readEnd: fds[0])
            slot = created
            return created
        }
    }

    private static func setHandler(_ signal: Int32) {
        // A parent may have started us with the signal blocked (the mask survives exec, and
        // threads of some runtimes block signals); unblock it on the installing thread.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, signal)
        _ = pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signo in
            let fd = SignalPipe.writeEnd.load(ordering: .acquiring)
            guard fd >= 0 else { return }
            var byte = UInt8(truncatingIfNeeded: signo)
            let saved = errno
            _ = write(fd, &byte, 1)
            errno = saved
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        _ = sigaction(signal, &action, nil)
    }

    /// Watches the pipe on `loop` and calls `handler` with each signal number, on the loop
    /// thread. Call on the loop thread, or before the loop runs.
    public func watch(on loop: EventLoop, _ handler: @escaping (Int32) -> Void) {
        precondition(self.loop == nil, "SignalPipe.watch called twice")
        self.loop = loop
        let fd = readEnd
        loop.register(fd: fd, events: .readable) { _ in
            var buffer = [UInt8](repeating: 0, count: 16)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                for i in 0..<n { handler(Int32(buffer[i])) }
            }
        }
    }
}
