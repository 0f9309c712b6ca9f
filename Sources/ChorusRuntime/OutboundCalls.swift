import Foundation
import Synchronization

/// Runs blocking node-to-node HTTP calls (forwards to a shard leader, session checks, drop
/// fan-outs, deadlock reports) off the loop thread, each on a thread of its own, at most
/// `limit` at once. A forwarded acquire may block for as long as its wait, so these must not
/// share Dispatch's small worker pool with everything else.
///
/// Invariant: at most `limit` calls run at once; a call over the limit is not run and
/// `start` returns false (the caller answers "busy, retry").
final class OutboundCalls: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int = 512) { self.limit = limit }

    var inFlight: Int { running.withLock { $0 } }

    /// Starts `body` on a new thread unless `limit` calls are running.
    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let admitted = running.withLock { n -> Bool in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard admitted else { return false }
        let thread = Thread { [self] in
            body()
            running.withLock { $0 -= 1 }
        }
        thread.stackSize = 256 << 10
        thread.start()
        return true
    }
}
