/// Why the Raft core refused a request from its application. Received messages are never
/// refused with an error: a stale or malformed message is dropped (the sender retries).
/// Invariant: a refused request changed nothing in the node.
public enum RaftError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Only the leader accepts proposals and configuration changes; `leader` is a hint.
    case notLeader(leader: NodeID?)
    /// The leader is handing over leadership and takes no proposals until that ends.
    case transferInProgress(to: NodeID)
    /// The command is larger than `RaftSettings.maxEntryBytes`.
    case proposalTooLarge(bytes: Int, limit: Int)
    /// The leader holds too many uncommitted bytes (`RaftSettings.maxUncommittedBytes`).
    case overloaded(uncommittedBytes: Int, limit: Int)
    /// A configuration change at `index` is not committed yet: one change at a time (§4.1).
    case configurationChangeInFlight(index: LogIndex)
    /// The leader has not yet committed an entry of its own term; a configuration change
    /// must wait for it (the fix to single-server changes, raft-dev 2015, dissertation errata).
    case noCommitInCurrentTerm
    /// The change does not fit the current configuration.
    case invalidConfigurationChange(String)
    /// A learner cannot be promoted before its log reaches the leader's commit index.
    case learnerBehind(NodeID, match: LogIndex, commit: LogIndex)
    /// Leadership can only go to a voter other than the leader.
    case invalidTransferTarget(NodeID)
    /// Too many reads wait for confirmation (`RaftSettings.maxPendingReads`).
    case tooManyPendingReads(limit: Int)
    /// A read context must be 1...`RaftSettings.maxReadContextBytes` bytes.
    case invalidReadContext(bytes: Int)
    /// A read with this context is already pending on the leader: contexts must be unique.
    case duplicateReadContext
    /// No leader is known to serve a read.
    case noLeader
    /// A snapshot can only cover applied entries above the current snapshot.
    case invalidCompaction(index: LogIndex, applied: LogIndex, snapshot: LogIndex)

    public var description: String {
        switch self {
        case let .notLeader(leader): return "not the leader (leader: \(leader.map(\.description) ?? "unknown"))"
        case let .transferInProgress(to): return "leadership transfer to \(to) in progress"
        case let .proposalTooLarge(bytes, limit): return "proposal of \(bytes) bytes exceeds \(limit)"
        case let .overloaded(bytes, limit): return "\(bytes) uncommitted bytes exceed \(limit)"
        case let .configurationChangeInFlight(index): return "configuration change at \(index) not yet committed"
        case .noCommitInCurrentTerm: return "no entry of the current term committed yet"
        case let .invalidConfigurationChange(why): return "invalid configuration change: \(why)"
        case let .learnerBehind(id, match, commit): return "learner \(id) at \(match) is behind commit \(commit)"
        case let .invalidTransferTarget(id): return "cannot transfer leadership to \(id)"
        case let .tooManyPendingReads(limit): return "more than \(limit) reads pending"
        case let .invalidReadContext(bytes): return "read context of \(bytes) bytes"
        case .duplicateReadContext: return "a read with this context is already pending"
        case .noLeader: return "no leader known"
        case let .invalidCompaction(index, applied, snapshot):
            return "cannot snapshot at \(index): applied \(applied), current snapshot \(snapshot)"
        }
    }
}
