import ChorusBase
import ChorusRaft

/// Another member that hosts shards, as this node's membership view describes it.
public struct NodePeer: Sendable, Equatable {
    public var name: String
    public var address: Endpoint
    /// Its HTTP API address (`chorus.api` tag), shown to clients.
    public var api: String?
    public var live: Bool
    /// It announced the same shard set (founding id and shard count) as this node.
    public var sameShardSet: Bool
    /// The life it announced (`chorus.life`), if any.
    public var life: UInt64? = nil
}

/// The reserved tags through which nodes describe their shard layer to each other.
public enum ShardTags {
    /// This node's Raft member id (hex), how peers address its shard replicas.
    public static let raft = "chorus.raft"
    /// This node's HTTP API address.
    public static let api = "chorus.api"
    /// The shard set this node belongs to: `<founding id hex>/<shard count>`, once it has one.
    public static let shardSet = "chorus.shards"
    /// The number of founding nodes this node was started to expect
    /// (`NodeSettings.bootstrapExpect`). Kept after founding: a founder that sees the others
    /// late must still recognise them as its co-founders (`Node+Founding.swift`).
    public static let bootstrapExpect = "chorus.expect"
    /// This start's life (hex), larger at every restart: peers tell a restarted node from its
    /// last life by its tags alone, without waiting for a death verdict that a quick restart
    /// never gets (the cache then drops what the old life held, `Node.followCacheMembership`).
    public static let life = "chorus.life"
    /// Tags `PUT /v1/tags` cannot change.
    public static let reserved: Set<String> = [raft, api, shardSet, bootstrapExpect, life]

    /// The `chorus.shards` value of a shard set.
    public static func shardSetValue(epoch: UInt64?, shardCount: Int) -> String? {
        epoch.map { String($0, radix: 16) + "/" + String(shardCount) }
    }
}
