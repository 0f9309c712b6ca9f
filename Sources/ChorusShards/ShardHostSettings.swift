import ChorusRaft
import ChorusWire

/// Tunables of a `ShardHost`. Time counts in host ticks (the driver calls `tick()` at a fixed
/// interval; the agent uses 50 ms, so the Raft defaults give a 0.5–1 s election timeout).
/// Invariant once `validate()` passes: every bound is positive, the Raft settings are valid,
/// and one AppendEntries or snapshot chunk always fits one peer frame.
public struct ShardHostSettings: Sendable, Hashable {
    /// Raft settings every group uses.
    public var raft = RaftSettings()
    /// Snapshot a group's state machine (and compact its log) after this many applied entries.
    /// etcd's default is 10,000 (`--snapshot-count` was 100,000 before 3.2; smaller keeps
    /// restarts and catch-ups short for the small state of a lock shard).
    public var snapshotEvery = 10_000
    /// Snapshot a group's state machine (and compact its log) also once the entries applied
    /// since the last snapshot carry this many bytes of commands. The log is held in memory
    /// until it is compacted, so this bounds it per group: a queue backlog of 1 KiB bodies
    /// published 60 to an entry reaches 16 MiB after about 16,000 messages, where the entry
    /// count alone would let 10,000 such entries (600 MiB) pile up. With bodies on disk the
    /// image is the records only (about 50 bytes a message), so the extra snapshots are cheap.
    public var snapshotEveryBytes = 16 << 20
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
    /// Bytes of a snapshot image per chunk. 1 MiB, the Raft default `maxMessageBytes`: a chunk
    /// costs a peer stream what one full AppendEntries does, so heartbeats never wait long.
    public var snapshotChunkBytes = 1 << 20
    /// Bytes of one snapshot image in flight to one member before its answer (flow control):
    /// four chunks keep a 1 Gbit/s link with a few ms of round trip busy.
    public var snapshotWindowBytes = 4 << 20
    /// Ticks without an answer after which a leader resends from what the member confirmed
    /// (20 ticks = 1 s at the agent's 50 ms tick, twice the longest election timeout).
    public var snapshotResendTicks = 20
    /// Ticks without a chunk after which a member drops a half-received image (10 s at 50 ms).
    public var snapshotAbandonTicks = 200
    /// Largest snapshot image a member accepts: `SnapshotStore`'s default file limit, which it
    /// must be able to read back after a restart.
    public var maxSnapshotBytes = 1 << 30
    /// Idle ticks after which a leader quiesces its group (`ShardHost+Quiescence`); nil never
    /// quiesces. Off by default: a quiescent group learns that its leader is gone only from
    /// `ShardHost.setUnavailable`, so only a driver that feeds it membership may turn it on
    /// (the node does, `NodeSettings`).
    public var quiesceAfterTicks: Int?

    /// The most bytes `raft.maxEntryBytes`, `raft.maxMessageBytes` and `snapshotChunkBytes`
    /// may each be: half of `Frame.defaultMaxBytes`.
    public static let largestItemBytes = Frame.defaultMaxBytes / 2

    public init() {
        // 0.5–1 s election timeouts at the agent's 50 ms tick; heartbeats every 100 ms (5 per
        // minimum election timeout, etcd has 10): halving them from every tick cut an idle
        // 64-group node's CPU from 2.4 % to 1.8 % (docs/performance.md).
        raft.electionTicks = 10
        raft.heartbeatTicks = 2
    }

    public func validate() throws(RaftSettingsError) {
        try raft.validate()
        for (name, value) in [("snapshot_every", snapshotEvery), ("snapshot_every_bytes", snapshotEveryBytes), ("ledger_capacity", ledgerCapacity),
                              ("rebalance_every_ticks", rebalanceEveryTicks), ("orphan_ticks", orphanTicks),
                              ("max_pending_proposals", maxPendingProposals), ("snapshot_chunk_bytes", snapshotChunkBytes),
                              ("snapshot_window_bytes", snapshotWindowBytes), ("snapshot_resend_ticks", snapshotResendTicks),
                              ("snapshot_abandon_ticks", snapshotAbandonTicks), ("max_snapshot_bytes", maxSnapshotBytes)] where value < 1 {
            throw RaftSettingsError("\(name) must be positive, got \(value)")
        }
        if let q = quiesceAfterTicks, q < 1 { throw RaftSettingsError("quiesce_after_ticks must be positive, got \(q)") }
        // One AppendEntries (entries up to max_message_bytes, or a single entry up to
        // max_entry_bytes) and one snapshot chunk must each fit a peer frame with their
        // encoding, or the transport refuses them every time they are sent and the group
        // never catches up. Half a frame leaves room for the headers: an entry's encoding
        // takes at most 26 bytes beyond its payload where Raft counts 16.
        let itemLimit = ShardHostSettings.largestItemBytes
        for (name, value) in [("max_entry_bytes", raft.maxEntryBytes), ("max_message_bytes", raft.maxMessageBytes),
                              ("snapshot_chunk_bytes", snapshotChunkBytes)] where value > itemLimit {
            throw RaftSettingsError("\(name) must be at most \(itemLimit) (half a peer frame, so one message always fits a frame), got \(value)")
        }
        if snapshotWindowBytes < snapshotChunkBytes {
            throw RaftSettingsError("snapshot_window_bytes (\(snapshotWindowBytes)) must hold one chunk (snapshot_chunk_bytes \(snapshotChunkBytes))")
        }
    }
}
