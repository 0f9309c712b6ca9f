import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// A member that announces `chorus.draining=1` leaves placement while it is still alive, so
/// its replicas move before it goes (docs/ring.md, "From membership to ring").
@Suite struct DrainingTests {
    @Test func drainingMember_isOffTheRing_whateverItsStatus() {
        let ring = Ring(members: [
            RingMember(name: "a", status: .alive),
            RingMember(name: "b", status: .alive, draining: true),
            RingMember(name: "c", status: .suspect, draining: true),
            RingMember(name: "d", status: .suspect),
        ], virtualNodesPerMember: 8)
        #expect(ring.members == ["a", "d"])
        #expect(ring.count == 16)
    }

    @Test func drainingRing_equalsTheRingWithoutTheMember() {
        let names = RingFixtures.names(10)
        var view = RingFixtures.alive(names)
        view[4].draining = true
        let without = Ring(members: RingFixtures.alive(names.filter { $0 != names[4] }))
        #expect(Ring(members: view) == without)
        #expect(Ring(members: view).digest == without.digest)
    }

    @Test func draining_changesExactlyTheShardsThatListedTheMember_likeALeave() {
        let names = RingFixtures.names(12)
        var view = RingFixtures.alive(names)
        let before = ShardMap(ring: Ring(members: view))
        view[5].draining = true
        let after = ShardMap(ring: Ring(members: view))
        let changes = after.changes(since: before)
        #expect(!changes.isEmpty)
        #expect(changes.map(\.shard) == before.shards(hostedBy: names[5]))
        for c in changes {
            #expect(c.removed == [names[5]])
            #expect(c.added.count == 1 && c.added != [names[5]])
        }
        view[5].status = .left
        #expect(ShardMap(ring: Ring(members: view)).changes(since: after).isEmpty)
    }

    @Test func membershipTags_markDraining_onlyWithTheValueOne() throws {
        func view(_ tags: [String: String]) throws -> [Membership.MemberInfo] {
            let m = try Membership(name: "solo", address: Endpoint(ip: .loopbackV4, port: 7946), tags: Tags(tags),
                                   settings: MembershipSettings(), seed: 1, now: .zero)
            return m.members(at: .zero)
        }
        #expect(Ring(view: try view([RingMember.drainingTag: "1", "zone": "a"])).isEmpty)
        #expect(Ring(view: try view([RingMember.drainingTag: "0"])).members == ["solo"])
        #expect(Ring(view: try view(["zone": "a"])).members == ["solo"])
        #expect(RingMember(try view([RingMember.drainingTag: "1"])[0]).draining)
    }

    @Test func drainingViewInAnyOrder_givesTheSameRing() {
        var view = RingFixtures.alive(RingFixtures.names(30))
        for i in stride(from: 0, to: 30, by: 7) { view[i].draining = true }
        let reference = Ring(members: view, virtualNodesPerMember: 16)
        var random = SeededRandom(seed: 7)
        for _ in 0..<5 {
            view.shuffle(using: &random)
            #expect(Ring(members: view, virtualNodesPerMember: 16).digest == reference.digest)
        }
        #expect(reference.members.count == 25)
    }

    @Test func replicaCounts_matchTheShardMap() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(10)))
        let map = ShardMap(ring: ring)
        let counts = ReplicaCounts(ring: ring, shardMap: map)
        #expect(counts.primary.reduce(0, +) == 64)
        #expect(counts.hosted.reduce(0, +) == 192)
        for (i, name) in ring.members.enumerated() {
            #expect(counts.hosted[i] == map.shards(hostedBy: name).count)
            #expect(counts.primary[i] == map.placements.filter { $0.replicas.first == name }.count)
        }
        let empty = Ring(members: [])
        #expect(ReplicaCounts(ring: empty, shardMap: ShardMap(ring: empty)) == ReplicaCounts(ring: empty, shardMap: map))
    }
}
