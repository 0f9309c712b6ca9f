import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards

// Founding the shard set together (`NodeSettings.bootstrapExpect`, Consul's bootstrap_expect).
//
// Every expecting node decides alone, from its membership view, and all decide alike: once
// exactly N live members expect N, and none of them carries a shard set other than the one
// those N found, each takes the ring of those N members, places every shard on it, derives
// the epoch from their Raft ids, and founds its own replicas with the placement's replicas as
// voters (`ShardHost.bootstrap(voters:epoch:)`). So every group starts with R voters, and
// a founder that saw the others late founds exactly what they founded.
//
// Until it founds, the node takes no shard batch: adopting a founder's epoch from its batches
// would create replicas that never saw the founding configuration. A shard set it could not
// have founded with them — a cluster that exists already, founded otherwise — makes it give
// up founding and join like any other node.
//
// Start exactly N nodes with the same N: two disjoint groups of N would found two sets (the
// members of each refuse the other's, `Node+Placement.swift`).
extension Node {
    /// True while this node waits to found the shard set with others: shard batches are
    /// dropped until then.
    var awaitsFounding: Bool { settings.bootstrapExpect != nil && host.epoch == nil && !foundingAbandoned }

    /// The epoch the founders with these Raft ids found: FNV-1a over the sorted ids, never 0.
    static func foundingEpoch(_ ids: [NodeID]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids.sorted() {
            for shift in stride(from: 56, through: 0, by: -8) {
                hash ^= UInt64(UInt8(truncatingIfNeeded: id.value >> UInt64(shift)))
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return hash == 0 ? 1 : hash
    }

    /// Founds the shard set when the view shows the founders (see above).
    func foundIfExpected(_ members: [Membership.MemberInfo]) {
        guard let expected = settings.bootstrapExpect, awaitsFounding, host.order.isEmpty else { return }
        let tag = String(expected)
        var founders: [(id: NodeID, member: Membership.MemberInfo)] = []
        var foundersSets: [String] = []
        var otherSet: String?
        for m in members where m.status.isLive {
            guard let text = m.tags[ShardTags.raft], let value = UInt64(text, radix: 16), let pid = NodeID(encoded: value) else { continue }
            let expecting = m.tags[ShardTags.bootstrapExpect] == tag
            if expecting { founders.append((pid, m)) }
            if let set = m.tags[ShardTags.shardSet] {
                if expecting { foundersSets.append(set) } else { otherSet = otherSet ?? set }
            }
        }
        if let set = otherSet {
            abandonFounding(because: "a member not expecting \(expected) founders belongs to shard set \(set)")
            return
        }
        guard founders.count == expected else {
            if founders.count > expected, let set = foundersSets.first {
                abandonFounding(because: "\(founders.count) members expect \(expected) founders and shard set \(set) exists")
            } else if founders.count != foundingSeen {
                foundingSeen = founders.count
                if founders.count > expected {
                    log(.error, "not founding: more nodes expect to found the shard set than \(expected); start exactly \(expected)",
                        ["seen": "\(founders.count)"])
                } else {
                    log(.info, "waiting for \(expected) nodes started with --bootstrap-expect \(expected) to found the shard set together",
                        ["seen": "\(founders.count)"])
                }
            }
            return
        }
        // This node's own tags reach its view with everyone else's; until they do, wait.
        guard founders.contains(where: { $0.id == id }) else { return }
        let ids = founders.map(\.id)
        let epoch = Node.foundingEpoch(ids)
        let value = ShardTags.shardSetValue(epoch: epoch, shardCount: shardCount)
        if let set = foundersSets.first(where: { $0 != value }) {
            abandonFounding(because: "the founders' members belong to shard set \(set), not the one they would found")
            return
        }
        let map = ShardMap(ring: Ring(view: founders.map(\.member), virtualNodesPerMember: settings.placement.virtualNodesPerMember),
                           settings: settings.placement)
        var byName: [String: NodeID] = [:]
        for f in founders { byName[f.member.name] = f.id }
        var voters: [ShardID: [NodeID]] = [:]
        for p in map.placements { voters[p.shard] = p.replicas.compactMap { byName[$0] } }
        do {
            try host.bootstrap(voters: voters, epoch: epoch)
        } catch {
            log(.error, "cannot found the shard set", ["error": "\(error)"])
            return
        }
        log(.info, "founded the shard set together with \(expected) nodes",
            ["shard_set": value ?? "", "replicas_here": "\(host.order.count)", "founders": founders.map(\.member.name).joined(separator: ",")])
    }

    private func abandonFounding(because reason: String) {
        foundingAbandoned = true
        log(.warn, "not founding: joining the existing shard set instead", ["reason": reason])
    }
}
