/// Where one shard lives: its replicas in ring order, starting from the owner of the shard's
/// token (the natural leader candidate).
///
/// Invariant: `replicas` are distinct members of the ring, there are
/// min(R, members on the ring) of them, and they are the first distinct members at or
/// clockwise after `token`.
public struct Placement: Hashable, Sendable, CustomStringConvertible {
    public var shard: ShardID
    public var token: Token
    public var replicas: [String]

    public init(shard: ShardID, token: Token, replicas: [String]) {
        self.shard = shard
        self.token = token
        self.replicas = replicas
    }

    public var description: String { "shard \(shard) @\(token): \(replicas.joined(separator: ","))" }
}
