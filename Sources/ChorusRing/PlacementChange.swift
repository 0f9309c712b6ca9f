/// How one shard's placement differs between two shard maps: the input a shard's Raft
/// leader needs to move its group (add the new replicas as learners, catch them up, promote,
/// then remove the old ones).
///
/// Invariant: `before != after`; `added` and `removed` are disjoint.
public struct PlacementChange: Hashable, Sendable, CustomStringConvertible {
    public var shard: ShardID
    public var before: [String]
    public var after: [String]

    public init(shard: ShardID, before: [String], after: [String]) {
        self.shard = shard
        self.before = before
        self.after = after
    }

    /// Replicas in `after` but not in `before`, in `after`'s order.
    public var added: [String] { after.filter { !before.contains($0) } }
    /// Replicas in `before` but not in `after`, in `before`'s order.
    public var removed: [String] { before.filter { !after.contains($0) } }

    public var description: String {
        "shard \(shard): \(before.joined(separator: ",")) → \(after.joined(separator: ","))"
    }
}

extension ShardMap {
    /// The shards whose replica lists differ from `old`'s, in shard order. Both maps must
    /// have the same shard count (it is fixed at cluster creation).
    ///
    /// Consistent hashing keeps this short: when one member joins, exactly the shards that
    /// now list it change; when one leaves or dies, exactly the shards that listed it.
    public func changes(since old: ShardMap) -> [PlacementChange] {
        precondition(old.shardCount == shardCount,
                     "shard maps with different shard counts (\(old.shardCount), \(shardCount)) cannot be compared")
        var out: [PlacementChange] = []
        for i in 0..<shardCount where placements[i].replicas != old.placements[i].replicas {
            out.append(PlacementChange(shard: ShardID(i), before: old.placements[i].replicas,
                                       after: placements[i].replicas))
        }
        return out
    }
}
