import ChorusMembership

/// The three numbers that define placement. They are fixed when a cluster is created and
/// every node must use the same values: two nodes with different settings compute different
/// rings from the same view.
///
/// Invariant once `validate()` passes: every value is inside the range named beside it.
public struct PlacementSettings: Sendable, Hashable {
    /// Virtual nodes per member (V). 128, from `chorus bench ring` (docs/ring.md): the 99th
    /// percentile member holds 1.11×, 1.20× and 1.22× the mean of 1M keys at 10, 100 and 1,000
    /// members (Chord reports 1.6× at V=20, and so do we: 1.63×), a join or a leave moves
    /// 0.94–1.05× the ideal 1/N, and at 1,000 members the ring takes 1.5 MiB (12 bytes a
    /// virtual node) and about 13 ms to build. V=256 buys only 0.04–0.05 of p99/mean for
    /// twice the memory and build time; V=64 gives back 0.05–0.19.
    public var virtualNodesPerMember: Int = PlacementSettings.defaultVirtualNodesPerMember
    /// Shards (S), each a Raft group; lock names and queue partitions hash to one.
    /// 64 by default: enough groups to spread leaders over a few dozen nodes, few enough
    /// for one node to host them all. S cannot change after creation: every key's shard
    /// number would change.
    public var shardCount: Int = 64
    /// Replicas per shard (R), a Raft group's voters: 3 survives one failure; fewer while the
    /// cluster has fewer members on the ring.
    public var replicationFactor: Int = 3

    public static let defaultVirtualNodesPerMember = 128
    /// Allowed V. More than 4096 buys no balance worth its memory (spread falls as 1/√V).
    public static let virtualNodeLimit = 1...4096
    /// Allowed S. The shard range of a key is a 64-bit multiply-shift, any S works; the cap
    /// keeps the per-node cost of hosting groups bounded.
    public static let shardLimit = 1...65_536
    /// Allowed R. Raft groups above 7 voters commit slowly and gain little safety.
    public static let replicationLimit = 1...7

    public init() {}

    /// Refuses a value out of range with a message naming the setting (by its agent config
    /// key: `ring_vnodes`, `shards`, `replicas`) and the rule.
    public func validate() throws(SettingsError) {
        if !Self.virtualNodeLimit.contains(virtualNodesPerMember) {
            throw SettingsError("ring_vnodes must be in \(Self.virtualNodeLimit), got \(virtualNodesPerMember)")
        }
        if !Self.shardLimit.contains(shardCount) {
            throw SettingsError("shards must be in \(Self.shardLimit), got \(shardCount)")
        }
        if !Self.replicationLimit.contains(replicationFactor) {
            throw SettingsError("replicas must be in \(Self.replicationLimit), got \(replicationFactor)")
        }
    }
}
