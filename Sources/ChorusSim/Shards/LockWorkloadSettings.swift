import ChorusBase

/// How the lock clients of a `LockWorkload` behave. Invariant once `validate()` passes:
/// counts are positive, every range is ordered, probabilities lie in 0…1 and the TTL is one
/// the lock table accepts.
public struct LockWorkloadSettings: Sendable {
    /// Client sessions, each opened on its own home shard (client k's home is shard
    /// k mod shards, so every shard is home to some).
    public var clients = 12
    /// Lock names the clients fight over; they land on shards by the ring's key hash, as a
    /// real lock name does.
    public var lockNames = ["orders", "ledger", "inventory", "billing", "payroll", "audit", "search", "mail"]
    /// Session TTL. Three seconds is a few election timeouts (0.5–1 s here) and three
    /// keep-alive periods: long enough to ride out a failover, short enough that a stopped
    /// client's locks come free within a run.
    public var ttlMillis: UInt64 = 3_000
    /// A live client keeps alive this often (a third of the TTL, as etcd's clients do).
    public var keepAliveEvery: Interval = .milliseconds(1_000)
    /// Share of acquires that ask for an exclusive hold.
    public var exclusiveShare = 0.75
    /// Waits an acquire picks from, uniformly (0 = try-lock).
    public var waitChoicesMillis: [UInt64] = [0, 200, 1_000, 3_000, 6_000]
    /// How long a client holds a granted lock, uniform in this range.
    public var holdMillis: ClosedRange<Int> = 20...600
    /// Pause between two operations of a client, uniform in this range.
    public var thinkMillis: ClosedRange<Int> = 10...300
    /// A waiting client asks again (same request id) this often, in case the notification of
    /// its grant or failure never reached it (it is sent by whoever leads when it applies).
    public var pollEvery: Interval = .milliseconds(1_000)
    /// A request with no answer at all (its node crashed) is sent again after this long.
    public var requestTimeout: Interval = .milliseconds(1_500)
    /// A client gives up a wait this long after its own `waitMillis` (the leader's timeout
    /// should have answered by then; failovers extend it) and withdraws it by `release`.
    public var waitGrace: Interval = .seconds(5)
    /// First operation of the clients (the cluster elects leaders and spreads replicas first).
    public var startAt: Interval = .seconds(3)
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws(SimSettingError) {
        try SimSettingError.require(clients >= 1, "clients", "must be positive, got \(clients)")
        try SimSettingError.require(!lockNames.isEmpty && Set(lockNames).count == lockNames.count, "lock_names",
                                    "must be a non-empty list of distinct names")
        try SimSettingError.require(ttlMillis >= 1_000, "ttl_millis", "must be at least 1000 (the table's minimum), got \(ttlMillis)")
        try SimSettingError.require(keepAliveEvery > .zero && keepAliveEvery.milliseconds * 2 <= Double(ttlMillis), "keep_alive_every",
                                    "must be positive and at most half the ttl, got \(keepAliveEvery)")
        try SimSettingError.require((0...1).contains(exclusiveShare), "exclusive_share", "must lie in 0…1, got \(exclusiveShare)")
        try SimSettingError.require(!waitChoicesMillis.isEmpty, "wait_choices_millis", "must not be empty")
        try SimSettingError.require(holdMillis.lowerBound >= 0, "hold_millis", "must not be negative")
        try SimSettingError.require(thinkMillis.lowerBound >= 0, "think_millis", "must not be negative")
        for (name, value) in [("poll_every", pollEvery), ("request_timeout", requestTimeout), ("wait_grace", waitGrace)] {
            try SimSettingError.require(value > .zero, name, "must be positive, got \(value)")
        }
    }
}
