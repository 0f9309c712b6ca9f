/// The bounds of one shard's lock table. Every replica of a shard must use the same values
/// (they shape the applied state); the snapshot carries them so a restored replica keeps them.
/// Invariant once `validate()` passes: every bound is positive and `minTTLMillis <= maxTTLMillis`.
public struct LockTableSettings: Hashable, Sendable {
    /// Dead sessions remembered per shard (FIFO eviction). A tombstone has to outlive any
    /// acquire of the session still in flight when the home shard's `dropSession` arrives;
    /// 10,000 later session ends is far more than the proposals one leader keeps in flight.
    public var maxTombstones: Int = 10_000
    /// Finished requests remembered per session for exactly-once retries (FIFO eviction). A
    /// client retries only requests it has not seen answered; 32 covers a client with 32
    /// requests outstanding at once. A retry older than that is applied as a new request
    /// (which the re-acquire rules make harmless for `acquire`).
    public var requestsPerSession: Int = 32
    /// `openSession` request ids remembered per shard (FIFO eviction), so a retried open
    /// returns the same session instead of opening a second one.
    public var recentOpens: Int = 10_000
    /// Shortest session TTL accepted. Below a couple of election timeouts a session would
    /// only survive a leader change because the new leader extends every lease.
    public var minTTLMillis: UInt64 = 1_000
    /// Longest session TTL accepted (one day; etcd allows longer, but a lease that long only
    /// delays the release of a crashed client's locks).
    public var maxTTLMillis: UInt64 = 86_400_000
    /// Longest wait an acquire may ask for (one day); longer waits re-acquire after a timeout.
    public var maxWaitMillis: UInt64 = 86_400_000

    public init() {}

    /// Refuses an invalid combination with a message naming the setting and its rule.
    public func validate() throws(LockSettingsError) {
        for (name, value) in [("max_tombstones", maxTombstones), ("requests_per_session", requestsPerSession),
                              ("recent_opens", recentOpens)] where value < 1 {
            throw LockSettingsError("\(name) must be positive, got \(value)")
        }
        if minTTLMillis < 1 { throw LockSettingsError("min_ttl_millis must be positive, got \(minTTLMillis)") }
        if maxTTLMillis < minTTLMillis {
            throw LockSettingsError("max_ttl_millis (\(maxTTLMillis)) must be at least min_ttl_millis (\(minTTLMillis))")
        }
        // Leases and wait deadlines turn these into `Interval`s (Int64 nanoseconds).
        let limit = UInt64(Int64.max / 1_000_000) / 4
        if maxTTLMillis > limit { throw LockSettingsError("max_ttl_millis must be at most \(limit), got \(maxTTLMillis)") }
        if maxWaitMillis > limit { throw LockSettingsError("max_wait_millis must be at most \(limit), got \(maxWaitMillis)") }
    }
}

/// A setting that failed validation. Invariant: the message names the setting and its rule.
public struct LockSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
