import ChorusNode

/// The lock metrics of one agent: `chorus_lock_wait_seconds`, the time from an acquire
/// request reaching this node to its grant (the wait behind other holders included), for
/// the acquires taken here that were granted. Invariant: only granted acquires are observed,
/// so a timeout, a deadlock victim or a refused request never shows as a short wait.
final class LockMetrics {
    private let wait: HistogramMetric?
    /// From an uncontended grant on a quiet cluster (about 1 ms) to the longest wait a
    /// wait worth telling apart (60 s; longer waits, up to `ClientRequest.maxWaitMillis`, count in +Inf).
    static let waitBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    init(registry: MetricsRegistry) {
        wait = try? registry.histogram("chorus_lock_wait_seconds", help: "Acquire requests taken here, from arrival to grant.",
                                       buckets: LockMetrics.waitBuckets)
    }

    /// Records an acquire's wait when `reply` granted it.
    func observe(_ reply: ClientReply, seconds: Double) {
        if case .granted = reply { wait?.observe(seconds) }
    }
}
