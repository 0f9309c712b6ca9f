import ChorusRing

/// The ring as `GET /v1/ring` reports it and `chorus ring` reads it: the placement settings,
/// a fingerprint of the ring, and one entry per member on the ring.
///
/// Invariant: `members` follows `Ring.members` (sorted by the UTF-8 bytes of the names, no
/// Dictionary order involved); every `share` is in 0...1 and they sum to 1 on a non-empty
/// ring; `tokensList`, when present, holds `tokens` hex strings in ring (ascending) order.
public struct RingView: Codable, Sendable, Equatable {
    /// One member on the ring.
    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        /// Gossip address `HOST:PORT` from the membership view.
        public var address: String
        /// Virtual nodes the member owns (V).
        public var tokens: Int
        /// Fraction of the token space the member owns (0...1).
        public var share: Double
        /// Shards whose first replica (the natural leader candidate) the member is.
        public var shardsPrimary: Int
        /// Shards the member is a replica of.
        public var shardsHosted: Int
        /// The member's virtual node tokens as 16 hex digits, ascending; only on request.
        public var tokensList: [String]?

        enum CodingKeys: String, CodingKey {
            case name, address, tokens, share
            case shardsPrimary = "shards_primary"
            case shardsHosted = "shards_hosted"
            case tokensList = "tokens_list"
        }

        public init(name: String, address: String, tokens: Int, share: Double, shardsPrimary: Int,
                    shardsHosted: Int, tokensList: [String]? = nil) {
            self.name = name
            self.address = address
            self.tokens = tokens
            self.share = share
            self.shardsPrimary = shardsPrimary
            self.shardsHosted = shardsHosted
            self.tokensList = tokensList
        }
    }

    public var virtualNodesPerMember: Int
    public var shardCount: Int
    public var replicationFactor: Int
    /// `Ring.digestHex`: nodes with the same ring show the same digest.
    public var digest: String
    public var members: [Member]

    enum CodingKeys: String, CodingKey {
        case digest, members
        case virtualNodesPerMember = "virtual_nodes_per_member"
        case shardCount = "shard_count"
        case replicationFactor = "replication_factor"
    }

    public init(virtualNodesPerMember: Int, shardCount: Int, replicationFactor: Int, digest: String, members: [Member]) {
        self.virtualNodesPerMember = virtualNodesPerMember
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.digest = digest
        self.members = members
    }

    /// The view of `ring` with shards placed by `shardMap`; `address(name)` gives a member's
    /// gossip address ("" when unknown).
    public init(ring: Ring, shardMap: ShardMap, address: (String) -> String?) {
        let shares = ring.shares
        let counts = ReplicaCounts(ring: ring, shardMap: shardMap)
        let v = ring.virtualNodesPerMember
        self.init(virtualNodesPerMember: v, shardCount: shardMap.shardCount,
                  replicationFactor: shardMap.replicationFactor, digest: ring.digestHex,
                  members: ring.members.indices.map { i in
                      Member(name: ring.members[i], address: address(ring.members[i]) ?? "", tokens: v,
                             share: shares[i], shardsPrimary: counts.primary[i], shardsHosted: counts.hosted[i])
                  })
    }

    /// This view with every member's token list filled in from `ring` (the ring it came from).
    public func withTokens(of ring: Ring) -> RingView {
        var lists = [[String]](repeating: [], count: ring.members.count)
        for node in ring.virtualNodes {
            guard let m = ring.index(of: node.member) else { continue }
            lists[m].append(node.token.description)
        }
        var out = self
        for i in out.members.indices {
            out.members[i].tokensList = ring.index(of: out.members[i].name).map { lists[$0] } ?? []
        }
        return out
    }
}
