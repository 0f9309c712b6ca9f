/// One shard as `GET /v1/shards` and `chorus shards --json` show it.
/// Invariant: `replicas` are the voters' member names (a Raft id in hex when the name is not
/// known), `leader` is nil when no leader is known, and `commit_index ≥ applied_index` as
/// reported by one replica.
public struct ShardView: Codable, Sendable, Equatable {
    public var shard: Int
    public var replicas: [String]
    public var learners: [String]
    public var leader: String?
    public var term: UInt64
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    /// The member whose replica reported this row.
    public var reportedBy: String?

    enum CodingKeys: String, CodingKey {
        case shard, replicas, learners, leader, term
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
        case reportedBy = "reported_by"
    }

    public init(shard: Int, replicas: [String], learners: [String], leader: String?, term: UInt64, commitIndex: UInt64,
                appliedIndex: UInt64, reportedBy: String?) {
        self.shard = shard; self.replicas = replicas; self.learners = learners; self.leader = leader; self.term = term
        self.commitIndex = commitIndex; self.appliedIndex = appliedIndex; self.reportedBy = reportedBy
    }

    /// Custom encoding so that `leader` is written as `null` when unknown (the contract).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shard, forKey: .shard)
        try c.encode(replicas, forKey: .replicas)
        try c.encode(learners, forKey: .learners)
        try c.encode(leader, forKey: .leader)
        try c.encode(term, forKey: .term)
        try c.encode(commitIndex, forKey: .commitIndex)
        try c.encode(appliedIndex, forKey: .appliedIndex)
        try c.encodeIfPresent(reportedBy, forKey: .reportedBy)
    }

    /// Of two reports of one shard, the more authoritative: a leader's over a follower's,
    /// then the higher term, then the higher commit index.
    static func better(_ a: ShardView, _ b: ShardView) -> ShardView {
        let aLeads = a.leader != nil && a.leader == a.reportedBy
        let bLeads = b.leader != nil && b.leader == b.reportedBy
        if aLeads != bLeads { return aLeads ? a : b }
        if a.term != b.term { return a.term > b.term ? a : b }
        return a.commitIndex >= b.commitIndex ? a : b
    }
}
