/// The placement of a fixed set of shards on a ring (Dynamo's strategy 3, DeCandia et al.
/// 2007 §6.2: fixed equal-sized partitions, placed by the ring).
///
/// The token space is cut into `shardCount` equal ranges. A key belongs to the shard whose
/// range holds the key's token; the shard's own token is the middle of that range, and its
/// replicas are the first R distinct members at or clockwise after it.
///
/// Invariants: `placements[i].shard == ShardID(i)` for every shard; each placement obeys
/// `Placement`'s invariant for this map's ring; the map of a key to a shard depends on
/// `shardCount` alone, never on membership, so a lock name keeps its shard forever.
public struct ShardMap: Sendable, Equatable {
    /// S, fixed at cluster creation.
    public let shardCount: Int
    /// R as configured; a placement holds fewer replicas while fewer members are on the ring.
    public let replicationFactor: Int
    /// Placement of every shard, indexed by shard number.
    public let placements: [Placement]

    /// Places `shardCount` shards with `replicationFactor` replicas each on `ring`.
    public init(ring: Ring, shardCount: Int = 64, replicationFactor: Int = 3) {
        precondition(PlacementSettings.shardLimit.contains(shardCount),
                     "shardCount must be in \(PlacementSettings.shardLimit), got \(shardCount)")
        precondition(PlacementSettings.replicationLimit.contains(replicationFactor),
                     "replicationFactor must be in \(PlacementSettings.replicationLimit), got \(replicationFactor)")
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.placements = (0..<shardCount).map { i in
            let shard = ShardID(i)
            let token = ShardMap.token(of: shard, shardCount: shardCount)
            return Placement(shard: shard, token: token,
                             replicas: ring.successors(of: token, count: replicationFactor))
        }
    }

    /// Places shards on `ring` as `settings` say (validate the settings first).
    public init(ring: Ring, settings: PlacementSettings) {
        self.init(ring: ring, shardCount: settings.shardCount, replicationFactor: settings.replicationFactor)
    }

    /// All shard ids in order.
    public var shards: [ShardID] { (0..<shardCount).map { ShardID($0) } }

    /// The shard of a lock name or queue partition name.
    public func shard(forKey key: String) -> ShardID {
        ShardMap.shard(of: Token(key: key), shardCount: shardCount)
    }

    /// The placement of one shard.
    public func placement(_ shard: ShardID) -> Placement {
        precondition(shard.index < shardCount, "shard \(shard) out of range 0..<\(shardCount)")
        return placements[shard.index]
    }

    /// Shards with `member` among their replicas, in shard order.
    public func shards(hostedBy member: String) -> [ShardID] {
        placements.filter { $0.replicas.contains(member) }.map(\.shard)
    }

    /// The shard whose range holds `token`: ⌊token · S / 2^64⌋, one multiply, no modulo bias,
    /// and the ranges are contiguous arcs of the ring.
    public static func shard(of token: Token, shardCount: Int) -> ShardID {
        precondition(PlacementSettings.shardLimit.contains(shardCount), "shardCount out of range: \(shardCount)")
        return ShardID(UInt32(token.value.multipliedFullWidth(by: UInt64(shardCount)).high))
    }

    /// The token of a shard: the middle of its range, ⌊(2i + 1) · 2^63 / S⌋. Spread evenly
    /// rather than hashed: the S points sample the ring systematically, so the number of
    /// shards a member receives tracks its share of the ring without the extra binomial
    /// noise of S random points, two shards can never share a token, and a shard is placed
    /// where its own keys live.
    public static func token(of shard: ShardID, shardCount: Int) -> Token {
        // (2i + 1) · 2^63 as a 128-bit number is (high: i, low: 2^63); the quotient fits in
        // 64 bits because 2i + 1 < 2S.
        precondition(shard.index < shardCount, "shard \(shard) out of range 0..<\(shardCount)")
        let q = UInt64(shardCount).dividingFullWidth((high: UInt64(shard.value), low: 1 << 63))
        return Token(q.quotient)
    }
}
