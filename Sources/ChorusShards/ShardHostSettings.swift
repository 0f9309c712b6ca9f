import ChorusRaft

/// Tunables of a `ShardHost`. Time counts in host ticks (the driver calls `tick()` at a fixed
/// interval; the agent uses 50 ms, so the Raft defaults give a 0.5–1 s election timeout).
/// Invariant once `validate()` passes: every bound is positive and the Raft settings are valid.
public struct ShardHostSettings: Sendable, Hashable {
    /// Raft settings every group uses.
    public var raft = RaftSettings()
    /// Snapshot a group's state machine (and compact its log) after this many applied entries.
    /// etcd's default is 10,000 (`--snapshot-count` was 100,000 before 3.2; smaller keeps
    /// restarts and catch-ups short for the small state of a lock shard).
    public var snapshotEvery = 10_000
    /// Request ids remembered per group for exactly-once application (`RequestLedger`).
    public var ledgerCapacity = 10_000
    /// Ticks between two looks at placement by each group leader (one change at a time).
    public var rebalanceEveryTicks = 4
    /// Ticks after which a replica that is not in its own group's committed configuration and
    /// hears from no leader is deleted (a learner that was never completed, or a removed
    /// member that missed its removal's commit while it was away is *not* deleted by this
    /// rule: it may still hold a vote in a configuration it cannot see; the leader's removal
    /// notice deletes it once it speaks to the group).
    public var orphanTicks = 1_200
    /// Proposals waiting for their entry to apply, per group, before new ones are refused.
    public var maxPendingProposals = 16_384

    public init() {
        // 0.5–1 s election timeouts at the agent's 50 ms tick; heartbeats every 100 ms (5 per
        // minimum election timeout, etcd has 10): halving them from every tick cut an idle
        // 64-group node's CPU from 2.4 % to 1.8 % (docs/performance.md).
        raft.electionTicks = 10
        raft.heartbeatTicks = 2
    }

    public func validate() throws(RaftSettingsError) {
        try raft.validate()
        for (name, value) in [("snapshot_every", snapshotEvery), ("ledger_capacity", ledgerCapacity),
                              ("rebalance_every_ticks", rebalanceEveryTicks), ("orphan_ticks", orphanTicks),
                              ("max_pending_proposals", maxPendingProposals)] where value < 1 {
            throw RaftSettingsError("\(name) must be positive, got \(value)")
        }
    }
}
