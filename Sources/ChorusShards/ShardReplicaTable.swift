import ChorusRaft
import ChorusRing

/// The replicas a host holds, by shard, with the set of those whose Raft node has a `Ready`.
///
/// Invariant: `ready` holds exactly the shards whose stored replica's `node.hasReady` was true
/// when it was last written. A replica changes only through this table (it is a value), so
/// the set is exact, and `ShardHost.hasReady` needs no walk over every group — which, for a
/// node hosting many groups, was the largest cost of an idle turn.
struct ShardReplicaTable<Machine: ReplicatedStateMachine>: Sendable {
    private var all: [ShardID: ShardReplica<Machine>] = [:]
    private(set) var ready: Set<ShardID> = []
    /// The shards whose stored replica leads its group (kept like `ready`), so the node's
    /// per-tick duties visit the groups it leads without a walk over every group.
    private(set) var leading: Set<ShardID> = []
    /// The shards in whose configuration (as the stored replica knows it) this node votes.
    private(set) var voting: Set<ShardID> = []
    /// Each replica's leader and term as last written, and a count bumped whenever one of
    /// them, or the set of replicas, changes: readers that follow leadership look again
    /// only when it moved.
    private var leaders: [ShardID: LeaderSeen] = [:]
    private(set) var leadershipVersion: UInt64 = 0

    struct LeaderSeen: Equatable, Sendable { var leader: NodeID?; var term: Term }

    var isEmpty: Bool { all.isEmpty }

    /// The leader the stored replica of `shard` knows of, without copying the replica.
    func leader(of shard: ShardID) -> NodeID? { leaders[shard]?.leader }

    subscript(shard: ShardID) -> ShardReplica<Machine>? {
        get { all[shard] }
        set {
            all[shard] = newValue
            if let r = newValue, r.node.hasReady { ready.insert(shard) } else { ready.remove(shard) }
            if newValue?.node.role == .leader { leading.insert(shard) } else { leading.remove(shard) }
            if newValue?.node.isPromotable == true { voting.insert(shard) } else { voting.remove(shard) }
            let seen = newValue.map { LeaderSeen(leader: $0.node.leader, term: $0.node.term) }
            if leaders[shard] != seen {
                leaders[shard] = seen
                leadershipVersion &+= 1
            }
        }
    }

    /// Takes a replica out to change it; writing it back records whether it has a `Ready`.
    mutating func removeValue(forKey shard: ShardID) -> ShardReplica<Machine>? {
        ready.remove(shard)
        return all.removeValue(forKey: shard)
    }
}
