import ChorusBase
import ChorusMembership

/// What a driver gives a node to run SWIM membership (`Node.startMembership(_:at:)`): where
/// other members reach it, its own tags, the incarnation to start from and the seed of the
/// protocol's random choices.
///
/// Invariant the driver keeps: `incarnation` is above every incarnation this node used in an
/// earlier life (the runtime persists the last one and starts one above it), so a restart is
/// never mistaken for an old rumour about itself.
public struct MembershipStart: Sendable {
    /// The address other members send datagrams and open peer streams to.
    public var address: Endpoint
    /// The client API address this node announces in its `chorus.api` tag.
    public var api: Endpoint
    /// The operator's tags; the node adds its reserved shard tags (`ShardTags`).
    public var tags: Tags
    public var incarnation: Incarnation
    public var settings: MembershipSettings
    /// Seeds every random choice of the protocol (probe order, gossip targets).
    public var seed: UInt64

    public init(address: Endpoint, api: Endpoint, tags: Tags = Tags(), incarnation: Incarnation = 0,
                settings: MembershipSettings, seed: UInt64) {
        self.address = address; self.api = api; self.tags = tags; self.incarnation = incarnation
        self.settings = settings; self.seed = seed
    }
}
