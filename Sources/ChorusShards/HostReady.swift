import ChorusRaft
import ChorusRing

/// What a driver must do for a `ShardHost`, in this order (the per-group order of
/// `ChorusRaft.Ready`, with one fsync shared by every group — group commit across shards):
///
/// 1. `epoch`: if set, persist it (the shard set this node now belongs to).
/// 2. `removed`: delete these groups' log records and snapshots (they left this node).
/// 3. `groups`: for each, persist `snapshot`, `entries`, `hardState` (steps 1–3 of `Ready`).
/// 4. `compactions`: save each local snapshot, then mark the group's log as covered by it
///    (a founder's groups start with one at index 0 that holds the founding configuration).
/// 5. One `sync()` for all of the above.
/// 6. `batches`: send, one frame per destination node (`ShardBatchCodec.frames` splits one
///    that would not fit a frame). `leaderBatches` may be sent any time after `ready()`
///    returned, before the fsync too (Raft dissertation §10.2.1).
/// 7. Call `ShardHost.advance(_:)` with this value: it applies committed entries and answers
///    proposals and reads.
///
/// Invariant: nothing in `batches` depends on state that steps 1–5 have not made durable;
/// `leaderBatches` hold only a leader's replication messages (`Ready.earlyMessages`) of a
/// term whose HardState and whose shard-set epoch are already durable.
public struct HostReady: Sendable {
    public var epoch: UInt64?
    public var removed: [ShardID] = []
    public var groups: [(shard: ShardID, ready: Ready)] = []
    public var compactions: [(shard: ShardID, snapshot: Snapshot)] = []
    public var batches: [ShardBatch] = []
    public var leaderBatches: [ShardBatch] = []

    public init() {}

    public var isEmpty: Bool {
        epoch == nil && removed.isEmpty && groups.isEmpty && compactions.isEmpty && batches.isEmpty && leaderBatches.isEmpty
    }
}

/// The outcome of a proposal or read, matched to the caller by its token.
/// Invariant: every accepted proposal and read gets exactly one `ShardReply`.
public struct ShardReply: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The command was committed and applied at `index`; `reply` is the machine's answer.
        case applied(index: LogIndex, reply: [UInt8])
        /// A linearizable read may now be served from the machine (`ShardHost.machine(of:)`).
        case readable
        /// This replica lost leadership (or the group left this node) before the outcome was
        /// known: the command may or may not commit. Retrying with the same request id is safe.
        case unknown(reason: String)
    }
    public var shard: ShardID
    public var token: UInt64
    public var outcome: Outcome
}

/// Why a proposal or read was refused at once (nothing was appended).
public enum ShardRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// This node holds no replica of the shard.
    case notHosted(ShardID)
    /// This replica is not the leader; `leader` is the one it knows of, if any.
    case notLeader(leader: NodeID?)
    /// This replica leads but is handing leadership to `to` (the rebalancer moves leaders);
    /// proposals are refused until the new leader takes over, usually within an election
    /// timeout. Callers route the request again shortly.
    case leaderMoving(to: NodeID)
    /// Too many proposals wait in this group, or the Raft core refused (`reason`).
    case overloaded(String)
    case rejected(String)

    public var description: String {
        switch self {
        case let .notHosted(s): return "shard \(s) is not hosted here"
        case let .notLeader(l): return "not the shard's leader" + (l.map { " (leader \($0))" } ?? "")
        case let .leaderMoving(to): return "leadership is moving to \(to)"
        case let .overloaded(r): return "overloaded: \(r)"
        case let .rejected(r): return r
        }
    }
}

/// A proposal answered from the request ledger without touching the log (a retry of a
/// request that was already applied).
public enum ProposalAcceptance: Sendable, Equatable {
    case proposed
    case alreadyApplied(index: LogIndex, reply: [UInt8])
}
