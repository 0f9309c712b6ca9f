import ChorusBase
import ChorusCache
import ChorusRaft
import ChorusRing

/// The cache service's state on one node. Nothing here is replicated: the directories are the
/// leaders' soft state (rebuilt conservatively by waiting out the old home's leases), the
/// controller's copies are leased, and the durable values live in the shards' state machines
/// (`ShardCacheValues`). Losing all of it in a crash loses no acknowledged write.
///
/// Invariants: the controller is this node's only cache controller for its whole life (one
/// incarnation, `life`); `homes` holds a directory exactly for the shards this node leads,
/// each with the term it was created in as its epoch; every operation in `ops` is answered
/// exactly once (by the controller's completion or by its expiry); `loopback` only holds
/// messages this node sent to itself, delivered in order before the input returns.
struct CacheDuties {
    var controller: CacheController
    /// The incarnation this node's frames carry; a restart takes a larger one.
    let life: UInt64
    var homes: [ShardID: HomeDirectory] = [:]
    var ops: [ClientOpID: CacheWait] = [:]
    var nextOp: UInt64 = 1
    /// The cache incarnation last heard from each peer.
    var lives: [NodeID: UInt64] = [:]
    /// Peers the membership view shows dead, already reported to the directories.
    var reportedDead: Set<NodeID> = []
    /// Peers of the last view (one that leaves the view is reported dead too).
    var viewPeers: Set<NodeID> = []
    /// The leader and term last seen per hosted shard: what `homeChanged` is told about.
    var seenHomes: [ShardID: SeenHome] = [:]
    /// `host.leadershipVersion` when `seenHomes` was last brought up to date (nil: never).
    var seenLeadershipVersion: UInt64?
    /// Loads to ask again (their read was refused or lost with a leadership change).
    var reloads: [CacheReload] = []
    /// Counters of the directories discarded with their leadership.
    var retired = CacheMetrics()
    var messagesReceived: UInt64 = 0
    /// Operations and messages handed to the controller: the only inputs that can give it a
    /// copy or ownership (a tick only retransmits and lets leases run out).
    var controllerSteps: UInt64 = 0
    var loopback: [(message: CacheMessage, from: CacheNodeID)] = []
    /// The controller's names for homes: one per (leader, shard), so that a leader losing one
    /// shard moves the homes of that shard's keys only.
    var aliases: [HomeAlias: CacheNodeID] = [:]
    var homesByAlias: [CacheNodeID: HomeAlias] = [:]
    /// Aliases count down from the top of the id space; controllers are named by Raft ids.
    var nextAlias: UInt64 = .max
    var delivering = false
    /// The record a write-through will leave when the shard applies it as proposed (a set
    /// whose expiry this home fixed), by transaction: the directory's result on success.
    var expectedResults: [TxnID: [UInt8]] = [:]
    /// Shards whose purge of expired records is proposed and not yet settled (one at a time).
    var purging: Set<ShardID> = []
    /// When the homes next look for expired records to purge.
    var nextPurge: Instant = .zero
    var purgesProposed: UInt64 = 0

    /// How often a home purges its shard's expired records: an expired record costs memory
    /// only (it already reads as absent), so a second's delay is cheap, and one purge of at
    /// most `CacheShardCommand.maxPurgeKeys` per shard and second bounds the log traffic.
    static let purgeEvery: Interval = .seconds(1)

    init(node: NodeID, life: UInt64, settings: CacheSettings) {
        var s = settings
        s.copiesEndWithRecords = true
        controller = CacheController(node: CacheNodeID(node.value), incarnation: life, settings: s)
        self.life = life
    }

    /// The controller's name for the directory `node` runs for `shard`.
    mutating func alias(_ node: NodeID, _ shard: ShardID) -> CacheNodeID {
        let home = HomeAlias(node: node, shard: shard)
        if let known = aliases[home] { return known }
        let id = CacheNodeID(nextAlias)
        nextAlias &-= 1
        aliases[home] = id
        homesByAlias[id] = home
        return id
    }

    mutating func opID() -> ClientOpID {
        defer { nextOp &+= 1 }
        return ClientOpID(nextOp)
    }
}

/// A shard's leader in one term: one directory's life.
struct SeenHome: Equatable, Sendable {
    var leader: NodeID
    var term: UInt64
}

/// One directory as the controller addresses it: the node leading the shard, and the shard.
struct HomeAlias: Hashable, Sendable {
    var node: NodeID
    var shard: ShardID
}

/// A client cache operation waiting on the controller.
struct CacheWait: Sendable {
    enum Kind: Sendable { case read, write, increment }
    var replyTo: ReplyTo
    var key: [UInt8]
    var kind: Kind
    var expires: Instant
}

/// A directory's load to issue again, for the directory of that epoch only.
struct CacheReload: Sendable {
    var shard: ShardID
    var key: CacheKey
    var epoch: UInt64
}
