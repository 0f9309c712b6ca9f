import ChorusRaft
import ChorusRing

/// One hosted replica as `chorus shards` shows it. Invariant: a snapshot of the replica's
/// state at one instant (`commit ≥ applied`).
public struct ShardStatus: Sendable, Equatable {
    public var shard: ShardID
    public var role: RaftNode.Role
    public var voters: [NodeID]
    public var learners: [NodeID]
    public var leader: NodeID?
    public var term: Term
    public var commit: LogIndex
    public var applied: LogIndex
}

extension ShardHost {
    /// Every hosted replica, in shard order.
    public var statuses: [ShardStatus] { order.compactMap(status(of:)) }

    public func status(of shard: ShardID) -> ShardStatus? {
        guard let n = replicas[shard]?.node else { return nil }
        return ShardStatus(shard: shard, role: n.role, voters: n.configuration.voters, learners: n.configuration.learners,
                           leader: n.leader, term: n.term, commit: n.log.committed, applied: n.log.applied)
    }

    /// The replicated state of `shard` as applied here (read it after a `.readable` reply
    /// for a linearizable read).
    public func machine(of shard: ShardID) -> Machine? { replicas[shard]?.machine }
    public func isLeader(of shard: ShardID) -> Bool { replicas.leading.contains(shard) }
    public func leader(of shard: ShardID) -> NodeID? { replicas.leader(of: shard) }
    /// Changes whenever a hosted replica's leader or term changes, or a replica is added or
    /// dropped: equal values mean every `status(of:)`'s leader and term are as they were.
    public var leadershipVersion: UInt64 { replicas.leadershipVersion }
    /// The term of this node's replica of `shard` (nil: not hosted here), without building a
    /// whole `ShardStatus`.
    public func term(of shard: ShardID) -> Term? { replicas[shard]?.node.term }
    /// Groups this node leads.
    public var leadersHeld: Int { replicas.leading.count }
    /// The shards this node leads, sorted (no walk over every group).
    public var ledShards: [ShardID] { replicas.leading.sorted() }
    /// Shards in whose configuration (as this replica knows it) this node votes.
    public var votingShards: [ShardID] { replicas.voting.sorted() }
}
