import ChorusBase
import ChorusMembership
import ChorusRing

/// The ring an agent last computed, with the view it came from. Rebuilding costs O(N·V log)
/// (about 13 ms at 1,000 members, V=128), so `GET /v1/ring` reuses this until the members on
/// the ring change.
///
/// Invariant: `ring` and `shardMap` were computed from exactly the names in `onRing` (the
/// live, non-draining members in the order `Membership.members(at:)` lists them) with the
/// agent's placement settings, which never change while it runs; `view` describes them,
/// with the member addresses in `addresses` (aligned with `onRing`).
struct RingCache {
    var onRing: [String]
    var addresses: [String]
    let ring: Ring
    let shardMap: ShardMap
    var view: RingView
}

// GET /v1/ring (docs/api.md): the ring computed from this agent's membership view.
extension Agent {

    func ring(_ request: HTTPRequest) -> HTTPResponse {
        guard let withTokens = Agent.queryFlag(request.query("tokens")) else { return Agent.invalidFlag("tokens") }
        let cache = currentRing()
        return .json(200, withTokens ? cache.view.withTokens(of: cache.ring) : cache.view)
    }

    /// The cached ring, rebuilt first if the members on the ring changed since.
    ///
    /// The cache is keyed on the ring's input itself, not on a count of member events:
    /// a suspect member's tags (and so its draining mark) can change through a suspect
    /// update, which emits no event, and a key of names cannot miss that. Deriving the names
    /// costs one snapshot of the view, as `GET /v1/members` takes. Status flips between alive
    /// and suspect and other tags keep the ring; an address change only updates addresses.
    func currentRing() -> RingCache {
        let live = membership.members(at: loop.now()).filter { RingMember($0).isOnRing }
        let names = live.map(\.name)
        let addresses = live.map(\.address.description)
        // Lookups only: nothing iterates this Dictionary, so its order cannot leak out.
        func addressOf() -> [String: String] { Dictionary(zip(names, addresses), uniquingKeysWith: { a, _ in a }) }
        if var cache = ringCache, cache.onRing == names {
            if cache.addresses != addresses {
                let lookup = addressOf()
                for i in cache.view.members.indices {
                    cache.view.members[i].address = lookup[cache.view.members[i].name] ?? ""
                }
                cache.addresses = addresses
                ringCache = cache
            }
            return cache
        }

        let placement = settings.placement
        let ring = Ring(members: live.map(RingMember.init), virtualNodesPerMember: placement.virtualNodesPerMember)
        let shardMap = ShardMap(ring: ring, settings: placement)
        let lookup = addressOf()
        let view = RingView(ring: ring, shardMap: shardMap) { lookup[$0] }
        let cache = RingCache(onRing: names, addresses: addresses, ring: ring, shardMap: shardMap, view: view)
        let moved = ringCache.map { shardMap.changes(since: $0.shardMap).count }
        ringCache = cache
        metrics.ringBuilt()
        log.debug("ring rebuilt", ["members": ring.members.count, "digest": view.digest,
                                   "shards_moved": moved.map { String($0) } ?? "first build"])
        return cache
    }
}
