import ChorusRaft
import ChorusRing

extension ShardHost {
    /// Founds the shard set together with other nodes: every shard whose `voters` list this
    /// node becomes a group with exactly those voters from the start — no learner to grow,
    /// no membership change. Every founder must pass the same `voters` and `epoch`, or they
    /// found different groups (`Node+Founding.swift` derives both from the founders alone).
    /// Only for a node with no stored groups and no shard set; nothing campaigns at once (the
    /// voters' election timeouts pick the first leader).
    public mutating func bootstrap(voters: [ShardID: [NodeID]], epoch: UInt64) throws {
        precondition(replicas.isEmpty && self.epoch == nil, "bootstrap of a host that already has shards")
        precondition(epoch != 0)
        self.epoch = epoch
        epochUnpersisted = true
        for shard in voters.keys.sorted() {
            guard let members = voters[shard], members.contains(id) else { continue }
            let founding = PersistedState.bootstrap(Configuration(voters: members.sorted()))
            try addReplica(shard, founding)
            // As for a lone founder: the configuration lives only in this index-0 snapshot.
            compactionsUnpersisted.append((shard, founding.snapshot))
        }
    }
}
