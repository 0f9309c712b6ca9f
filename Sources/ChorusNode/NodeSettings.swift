import ChorusBase
import ChorusCache
import ChorusRing
import ChorusShards

/// Settings of one node's composition of its cores. Invariant once `validate()` passes:
/// every interval is positive and every bound at least 1, so no arithmetic on them traps.
public struct NodeSettings: Sendable {
    /// Virtual nodes, shard count and replication factor (the same on every node).
    public var placement = PlacementSettings()
    /// The multi-Raft host's settings (its Raft settings give the election timeout).
    public var shards = ShardHostSettings()
    /// How often the driver calls `tick` (one Raft tick per call).
    public var tick: Interval = .milliseconds(50)
    /// The longest a driver may go without a tick while nothing is in motion
    /// (`Node.nextTick`): every group quiescent, no request, call or wait outstanding. The
    /// node then names its earliest deadline (a session's lease, a wait's timeout, a queue
    /// lease) and is ticked then or after this, whichever comes first; periodic chores (the
    /// drop audit, the detector's rounds, the purge of expired cache records) run at most
    /// this late. At least `tick`.
    public var quietTick: Interval = .milliseconds(500)
    /// How long a request may spend being routed to its shard's leader (forwards and retries
    /// across leader changes included) before the client gets `noLeader`.
    public var routingBudget: Interval = .seconds(5)
    /// Longest one forwarding attempt waits for the leader's answer (beyond the request's own
    /// patience) before the request is routed again with fresher knowledge: a leader that
    /// died or moved costs this, not the whole budget. Retries carry the same request id.
    public var forwardAttempt: Interval = .seconds(1)
    /// Pause before a request that found no reachable leader is routed again.
    public var routeRetry: Interval = .milliseconds(50)
    /// Outbound peer calls in flight per peer and in total; past either the caller gets an
    /// explicit `overloaded` (a forwarded acquire holds a slot for as long as it waits).
    public var maxCallsPerPeer = 4_096
    public var maxCalls = 16_384
    /// Requests from other nodes being served here at once (parked acquires included);
    /// past it they are refused with `.overloaded`.
    public var maxInbound = 16_384
    /// Clock-drift allowance for session leases on a change of leader: a new leader expires a
    /// session no sooner than TTL + the longest election timeout + this after it took over,
    /// so the old leader's last keep-alive has run out on any clock that drifts by less.
    /// 250 ms covers a drift of 1 % over a TTL of 25 s, far beyond NTP-disciplined clocks.
    public var clockDriftAllowance: Interval = .milliseconds(250)
    /// How long a foreign session confirmed alive by its home is trusted for acquires.
    public var sessionConfirmationLife: Interval = .seconds(1)
    /// How often each shard leader audits the foreign sessions its table still knows.
    public var auditInterval: Interval = .seconds(2)
    /// How long a session drop is retried shard by shard after the node-wide fan-out.
    public var dropRetryWindow: Interval = .seconds(60)
    /// Wait before the shard-by-shard phase of a drop fan-out.
    public var dropFanoutGrace: Interval = .milliseconds(1_500)
    /// How long a cluster-wide listing waits for the other nodes' answers.
    public var gatherTimeout: Interval = .milliseconds(1_500)
    /// Found the shard set together with other nodes (Consul's `bootstrap_expect`): a node
    /// without shards and with this set founds only once it sees exactly this many live
    /// members (itself included) that expect the same number and belong to no shard set, and
    /// then every shard starts with its placement's replicas as voters
    /// (`Node+Founding.swift`). nil: a driver founds alone (no seeds, no stored shards), or
    /// never (seeds given).
    public var bootstrapExpect: Int?
    /// The most nodes `bootstrapExpect` may name.
    public static let bootstrapExpectLimit = 1_024
    /// The cache protocol's settings (the same lease and drift on every node). The node
    /// ticks the cache every `tick`, so `retransmitAfter` must be at least twice the tick:
    /// 100 ms here (two ticks), where the core alone defaults to 50 ms.
    public var cache: CacheSettings = {
        var s = CacheSettings()
        s.retransmitAfter = .milliseconds(100)
        return s
    }()

    /// Test-only faults that reproduce known bugs, to show the checkers catch them. Only tests
    /// (`@testable import`) can set them.
    var plantedBugs = PlantedBugs()

    public init() {
        // Idle groups quiesce after 1 s (20 ticks): the node feeds the host membership's
        // verdicts (`Node+Placement.swift`), from which a quiescent group learns its leader is gone.
        shards.quiesceAfterTicks = 20
    }

    /// The longest a Raft election can take from the last heartbeat: twice the election
    /// timeout in ticks (the randomized range's top), at the tick interval.
    public var longestElection: Interval { tick * Int64(2 * shards.raft.electionTicks) }

    /// What a new leader adds to every session's TTL on takeover (docs/locks.md).
    public var takeoverGrace: Interval { longestElection + clockDriftAllowance }

    public func validate() throws(NodeSettingsError) {
        for (name, value) in [("tick", tick), ("routing_budget", routingBudget), ("route_retry", routeRetry), ("forward_attempt", forwardAttempt),
                              ("session_confirmation_life", sessionConfirmationLife), ("audit_interval", auditInterval),
                              ("drop_retry_window", dropRetryWindow), ("drop_fanout_grace", dropFanoutGrace),
                              ("gather_timeout", gatherTimeout)] where value <= .zero || value > .seconds(86_400) {
            throw NodeSettingsError("\(name) must be in (0, 1 day], got \(value)")
        }
        if quietTick < tick || quietTick > .seconds(60) {
            throw NodeSettingsError("quiet_tick must be in [tick (\(tick)), 60 s], got \(quietTick)")
        }
        do { try cache.validate() } catch { throw NodeSettingsError("cache: \(error.message)") }
        if cache.retransmitAfter < tick * 2 {
            throw NodeSettingsError("cache retransmit_after (\(cache.retransmitAfter)) must be at least twice the tick (\(tick))")
        }
        if clockDriftAllowance < .zero || clockDriftAllowance > .seconds(3_600) {
            throw NodeSettingsError("clock_drift_allowance must be in [0, 1 h], got \(clockDriftAllowance)")
        }
        if let n = bootstrapExpect, n < 1 || n > NodeSettings.bootstrapExpectLimit {
            throw NodeSettingsError("bootstrap_expect must be in 1...\(NodeSettings.bootstrapExpectLimit), got \(n)")
        }
        for (name, value) in [("max_calls_per_peer", maxCallsPerPeer), ("max_calls", maxCalls), ("max_inbound", maxInbound)]
            where value < 1 || value > 1 << 24 {
            throw NodeSettingsError("\(name) must be in 1...16777216, got \(value)")
        }
    }
}

/// A setting outside its range, naming the setting and the rule.
public struct NodeSettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Faults planted on purpose, each reproducing a bug a checker must catch.
struct PlantedBugs: Sendable {
    /// Answer keep-alives from the leader's clocks without confirming leadership and applying
    /// everything committed first (the lease bug of the runtime glue this core replaced).
    var keepAliveWithoutReadIndex = false
    /// A new leader gives sessions only their TTL from takeover, no election or drift grace.
    var takeoverWithoutGrace = false
    /// The queue leader answers a publish before its entry commits (the whole-node queue
    /// checker must catch the lost messages).
    var queueAckBeforeCommit = false
    /// A cache home sends a write's data expecting one invalidation ack fewer than it sent
    /// revocations (the whole-node cache checker must catch the stale reader).
    var cacheDataBeforeOneInvAck = false
    /// The `.localCopies` effect leaves out copies given up (a mirror keeps them: the
    /// whole-node cache checker must catch the embedding's stale read).
    var cacheMirrorKeepsRevokedCopies = false
}
