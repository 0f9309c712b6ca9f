/// Every tunable of the Raft core, each with its default and where the number comes from.
/// Time is counted in ticks: the driver calls `RaftNode.tick()` at a fixed interval.
/// Invariant once `validate()` passes: `heartbeatTicks < electionTicks` and every bound is
/// positive.
public struct RaftSettings: Hashable, Sendable {
    /// Ticks without hearing from a leader before a follower campaigns. Each node draws its
    /// timeout uniformly from `electionTicks ..< 2 × electionTicks` (Raft §5.2; etcd: 10).
    public var electionTicks: Int = 10
    /// Ticks between leader heartbeats (etcd: 1, i.e. a tenth of the election timeout).
    public var heartbeatTicks: Int = 1
    /// Campaign only after a pre-vote round shows a majority would vote (dissertation §9.6),
    /// so a node rejoining from a partition does not bump every term.
    public var preVote: Bool = true
    /// A leader that has not heard from a majority for an election timeout steps down, and
    /// followers ignore vote requests while they hear from a leader (dissertation §6.2, §4.2.3).
    public var checkQuorum: Bool = true
    /// Most entry bytes in one AppendEntries (etcd's MaxSizePerMsg of 1 MiB).
    public var maxMessageBytes: Int = 1 << 20
    /// Most AppendEntries in flight to one follower in pipelined replication (etcd: 256).
    public var maxInflightMessages: Int = 256
    /// Most entry bytes in flight to one follower (etcd's MaxInflightBytes; 8 MiB).
    public var maxInflightBytes: Int = 8 << 20
    /// Largest command accepted by `propose` (a bit under the 16 MiB frame limit).
    public var maxEntryBytes: Int = 8 << 20
    /// Most bytes of uncommitted entries a leader holds before refusing proposals
    /// (etcd's MaxUncommittedEntriesSize; 64 MiB).
    public var maxUncommittedBytes: Int = 64 << 20
    /// Most committed-entry bytes handed to the application in one `Ready` (at least one
    /// entry is always handed over).
    public var maxApplyBytesPerReady: Int = 16 << 20
    /// Most ReadIndex requests waiting for a heartbeat quorum or a first commit.
    public var maxPendingReads: Int = 4096
    /// Largest ReadIndex context.
    public var maxReadContextBytes: Int = 256

    public init() {}

    /// Refuses an invalid combination with a message naming the setting and the rule.
    public func validate() throws(RaftSettingsError) {
        if electionTicks < 2 { throw RaftSettingsError("election_ticks must be at least 2, got \(electionTicks)") }
        if heartbeatTicks < 1 { throw RaftSettingsError("heartbeat_ticks must be at least 1, got \(heartbeatTicks)") }
        if heartbeatTicks >= electionTicks {
            throw RaftSettingsError("heartbeat_ticks (\(heartbeatTicks)) must be below election_ticks (\(electionTicks))")
        }
        for (name, value) in [("max_message_bytes", maxMessageBytes), ("max_inflight_messages", maxInflightMessages),
                              ("max_inflight_bytes", maxInflightBytes), ("max_entry_bytes", maxEntryBytes),
                              ("max_uncommitted_bytes", maxUncommittedBytes), ("max_apply_bytes_per_ready", maxApplyBytesPerReady),
                              ("max_pending_reads", maxPendingReads), ("max_read_context_bytes", maxReadContextBytes)] where value < 1 {
            throw RaftSettingsError("\(name) must be positive, got \(value)")
        }
    }
}

/// A setting that failed validation. Invariant: the message names the setting and its rule.
public struct RaftSettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
