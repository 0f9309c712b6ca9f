import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards

// From the membership view to the shard layer: who the peers are and where to reach them,
// which of them share this node's shard set, and every group's placement target.
//
// Shard-set identity: a shard set is founded once, with a random founding id and a shard
// count; every node publishes both (`chorus.shards` = `<id hex>/<count>`). A member that
// publishes another set — a cluster founded separately and then joined to this one, or a
// node started with another `--shards` — is refused: it takes no replica of ours, its peer
// calls are answered `.refused(.foreignShardSet)`, its batches are dropped by the host (they
// carry the other set's epoch), and it is logged once by name. Two lock tables for the same
// names never serve side by side.
extension Node {

    /// The reserved tags this node publishes (`nil` removes a tag).
    public func shardTags(api: Endpoint) -> [(String, String?)] {
        [(ShardTags.raft, String(id.value, radix: 16)), (ShardTags.api, api.description), (ShardTags.life, String(cacheDuties.life, radix: 16)),
         (ShardTags.shardSet, ShardTags.shardSetValue(epoch: host.epoch, shardCount: shardCount)),
         (ShardTags.bootstrapExpect, settings.bootstrapExpect.map { String($0) })]
    }

    /// Rebuilds the peer directory from the membership view and gives every group its
    /// placement target (the ring's replicas, as Raft ids).
    public func updateView(_ members: [Membership.MemberInfo], at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        applyView(members)
    }

    func applyView(_ members: [Membership.MemberInfo]) {
        foundIfExpected(members)
        var peers: [NodeID: NodePeer] = [:]
        var ids: [String: NodeID] = [:]
        var eligible: [Membership.MemberInfo] = []
        let mine = ShardTags.shardSetValue(epoch: host.epoch, shardCount: shardCount)
        for m in members {
            guard let text = m.tags[ShardTags.raft], let value = UInt64(text, radix: 16), let pid = NodeID(encoded: value) else { continue }
            ids[m.name] = pid
            let theirs = m.tags[ShardTags.shardSet]
            // A member with no set yet (joining, not founded) may take replicas and adopts
            // ours through them; one with another set may not.
            let compatible = theirs == nil || mine == nil || theirs == mine
            if compatible {
                eligible.append(m)
            } else if !foreignMembers.contains(m.name) {
                foreignMembers.insert(m.name)
                log(.error, "refusing a member of another shard set: it gets no replicas and no requests from this node",
                    ["member": m.name, "its_shard_set": theirs ?? "", "this_shard_set": mine ?? "",
                     "hint": "a cluster founded separately (or started with another --shards) cannot be merged into this one"])
            }
            guard pid != id else { continue }
            peers[pid] = NodePeer(name: m.name, address: m.address, api: m.tags[ShardTags.api], live: m.status.isLive,
                                  sameShardSet: theirs == mine && mine != nil || (mine == nil && theirs == nil),
                                  life: m.tags[ShardTags.life].flatMap { UInt64($0, radix: 16) })
        }
        self.peers = peers
        idsByName = ids
        // Quiescent groups take their leader's liveness from here (`ShardHost+Quiescence`).
        host.setUnavailable(Set(members.compactMap { m in
            m.status == .alive ? nil : m.tags[ShardTags.raft].flatMap { UInt64($0, radix: 16) }.flatMap(NodeID.init(encoded:))
        }))
        followCacheMembership()
        let names = eligible.filter { RingMember($0).isOnRing }.map(\.name)
        if names != placementNames || placementMap == nil {
            let ring = Ring(view: eligible, virtualNodesPerMember: settings.placement.virtualNodesPerMember)
            placementMap = ShardMap(ring: ring, settings: settings.placement)
            placementNames = names
        }
        guard let map = placementMap else { return }
        var targets: [ShardID: [NodeID]] = [:]
        for p in map.placements {
            let replicas = p.replicas.compactMap { ids[$0] }
            // A placement naming members whose Raft id is not known yet waits for it.
            if replicas.count == p.replicas.count { targets[p.shard] = replicas }
        }
        host.setTargets(targets)
    }

    /// True when a graceful leave should first hand this node's replicas to others.
    public var shouldDrain: Bool {
        !host.votingShards.isEmpty && peers.values.contains { $0.live && $0.sameShardSet }
    }

    /// The shard set this node announces and refuses others by, if it has one.
    public var shardSet: String? { ShardTags.shardSetValue(epoch: host.epoch, shardCount: shardCount) }
}
