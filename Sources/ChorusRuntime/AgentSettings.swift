import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusRing
import ChorusShards
import ChorusSeal

/// Everything an `Agent` needs to start, already parsed and typed (the command line and the
/// config file are turned into this by `chorus agent`).
///
/// Invariant once `validate()` passes: the membership settings are valid, the name is a legal
/// member name, the datagram receive limit holds any datagram a peer with the same settings
/// sends, the placement settings are in range, and every bound is positive.
public struct AgentSettings: Sendable {
    /// The member name, unique in the cluster.
    public var name: String
    /// Where gossip (UDP) and peer streams (TCP) listen; both use this one port. Port 0 picks
    /// a free port (the same number for both).
    public var bind: Endpoint
    /// The address other members use to reach this node; nil means the bind address (or, when
    /// binding a wildcard address, the first non-loopback interface address).
    public var advertise: Endpoint?
    /// Where the HTTP API listens.
    public var api: Endpoint
    /// Where the cache's RESP2 listener listens (`--resp`); nil: none.
    public var resp: Endpoint?
    /// Keys sealing gossip datagrams and peer-stream frames (empty: plaintext), how plaintext
    /// is treated, and the file rotated keyrings are written back to.
    public var keyring = Keyring()
    public var sealMode: SealMode = .required
    public var keyringPath: String?
    /// When set, every API request but `GET /health` needs `Authorization: Bearer <token>`.
    public var apiToken: APIToken?
    /// Seed addresses as given ("HOST:PORT"); resolved with getaddrinfo at join time.
    public var seeds: [String]
    /// The cluster's name; its hash is the cluster id in every packet.
    public var clusterName: String
    /// Where the node keeps its state (its incarnation); nil keeps nothing across restarts.
    public var dataDirectory: String?
    public var tags: Tags
    public var membership: MembershipSettings
    /// Virtual nodes per member, shard count and replication factor of the ring this agent
    /// computes from its view (`GET /v1/ring`). Every node of a cluster must use the same
    /// values: they are part of the ring's definition (docs/ring.md).
    public var placement = PlacementSettings()
    /// The shard host's tick: with `shards.raft` at 10 election ticks, a 0.5–1 s election
    /// timeout, and heartbeats every 100 ms (coalesced per peer node).
    public var shardTick: Interval = .milliseconds(50)
    /// Raft and host settings of every shard group: the node's, so idle groups quiesce
    /// (`NodeSettings`; the agent feeds the host membership's verdicts through the node).
    public var shards = NodeSettings().shards
    /// Found the cluster together with this many nodes (`--bootstrap-expect`); nil: a node
    /// without seeds and without stored shards founds alone, one with seeds never founds.
    public var bootstrapExpect: Int?
    /// The most nodes `bootstrapExpect` may name.
    public static let bootstrapExpectLimit = NodeSettings.bootstrapExpectLimit
    /// The node core's settings: placement, shard host and tick from above, the rest at
    /// their defaults (docs/architecture.md).
    public var node: NodeSettings {
        var n = NodeSettings()
        n.placement = placement
        n.shards = shards
        n.tick = shardTick
        n.quietTick = max(n.quietTick, shardTick)
        n.bootstrapExpect = bootstrapExpect
        n.cache.maxBytes = cacheMaxBytes
        return n
    }
    /// Byte budget of this node's cache copies (`--cache-max-bytes`); by default a share of
    /// physical memory (`CacheMemoryShare`).
    public var cacheMaxBytes: Int = CacheMemoryShare.machineDefault
    /// Queue message bodies in a body log per partition replica under
    /// `<data-dir>/shards/bodies` instead of memory, the local snapshots naming them and a
    /// joining replica sent them streamed from the body log (on by default, so that a backlog
    /// is bounded by the disk rather than memory; `--queue-bodies-in-memory` or
    /// `queue_bodies_on_disk = false` turns it off; without a data directory the bodies live in
    /// the node's temporary directory).
    public var queueBodiesOnDisk = true
    /// Longest a graceful leave waits for this node's shard replicas to move elsewhere
    /// (0 = leave at once).
    public var drainTimeout: Interval = .seconds(30)
    /// Largest datagram accepted; larger ones are dropped and counted as `oversized`. Default
    /// 16 KiB: room above the 1,400-byte gossip budget for peers tuned differently, far below
    /// what would let one datagram cost much memory.
    public var maxDatagramBytes: Int = 16 * 1024
    /// Most outbound peer streams kept open at once; the least recently used one is closed
    /// beyond it. Default 64: push-pull talks to one random member per interval.
    public var maxOutboundStreams: Int = 64
    /// Most inbound peer streams open at once; more are closed on accept and counted.
    /// Default 64: each may buffer up to one maximum frame (16 MiB), so this bounds what
    /// hostile peers can make the agent hold.
    public var maxInboundStreams: Int = 64
    /// An outbound peer stream idle this long is closed (it is reopened on demand).
    public var outboundIdleTimeout: Interval = .seconds(15)

    public init(name: String, bind: Endpoint, advertise: Endpoint? = nil, api: Endpoint, seeds: [String] = [],
                clusterName: String = "chorus", dataDirectory: String? = nil, tags: Tags = Tags(),
                membership: MembershipSettings = MembershipSettings()) {
        self.name = name
        self.bind = bind
        self.advertise = advertise
        self.api = api
        self.seeds = seeds
        self.clusterName = clusterName
        self.dataDirectory = dataDirectory
        self.tags = tags
        self.membership = membership
        self.membership.cluster = ClusterID.from(name: clusterName)
    }

    /// Refuses settings the agent cannot run with, naming the setting and the rule.
    public func validate() throws(AgentStartError) {
        if name.isEmpty || name.utf8.count > PacketCodec.maxNameBytes {
            throw .invalidSetting("name must be 1...\(PacketCodec.maxNameBytes) bytes, got \"\(name)\"")
        }
        if clusterName.isEmpty { throw .invalidSetting("cluster name must not be empty") }
        do { try membership.validate() } catch { throw .invalidSetting(error.message) }
        do { try placement.validate() } catch { throw .invalidSetting(error.message) }
        do { try shards.validate() } catch { throw .invalidSetting(error.message) }
        if !CacheMemoryShare.allowed.contains(cacheMaxBytes) {
            throw .invalidSetting("cache_max_bytes must be 1MiB...1TiB (\(CacheMemoryShare.allowed.lowerBound)...\(CacheMemoryShare.allowed.upperBound) bytes), got \(cacheMaxBytes)")
        }
        do { try node.validate() } catch { throw .invalidSetting(error.description) }
        if shardTick <= .zero { throw .invalidSetting("shard tick must be positive") }
        if maxDatagramBytes < membership.datagramBudget || maxDatagramBytes > UDPSocket.defaultMaxDatagramBytes {
            throw .invalidSetting("max_datagram_bytes must be in \(membership.datagramBudget)...\(UDPSocket.defaultMaxDatagramBytes) (at least datagram_budget), got \(maxDatagramBytes)")
        }
        if maxOutboundStreams < 1 { throw .invalidSetting("max_outbound_streams must be positive, got \(maxOutboundStreams)") }
        if maxInboundStreams < 1 { throw .invalidSetting("max_inbound_streams must be positive, got \(maxInboundStreams)") }
        if outboundIdleTimeout <= .zero { throw .invalidSetting("outbound idle timeout must be positive") }
    }
}
