/// How many shards each member of a ring leads and hosts under one shard map: the load that
/// `GET /v1/ring` and `chorus ring` show beside each member's share of the token space.
///
/// Invariant: both arrays are aligned with `Ring.members` (sorted by name bytes, no
/// Dictionary order involved); `primary` sums to the number of shards with a replica,
/// `hosted` to the number of replicas placed, and `primary[i] <= hosted[i]`.
public struct ReplicaCounts: Sendable, Equatable {
    /// For each member: shards whose first replica (the natural leader candidate) it is.
    public var primary: [Int]
    /// For each member: shards it is a replica of, first or not.
    public var hosted: [Int]

    /// Counts the replicas of `shardMap`, which must have been placed on `ring`; a replica
    /// that is not on `ring` (a map of another view) is not counted.
    public init(ring: Ring, shardMap: ShardMap) {
        primary = [Int](repeating: 0, count: ring.members.count)
        hosted = primary
        for placement in shardMap.placements {
            for (rank, name) in placement.replicas.enumerated() {
                guard let m = ring.index(of: name) else { continue }
                hosted[m] += 1
                if rank == 0 { primary[m] += 1 }
            }
        }
    }
}
