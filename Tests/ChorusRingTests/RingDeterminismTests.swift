import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// Two nodes with the same membership view must hold byte-identical rings, in different
/// processes with different hash seeds. Shuffled inputs check order independence inside one
/// process; golden values check it across processes, toolchains and machines (run with and
/// without SWIFT_DETERMINISTIC_HASHING=1: the goldens must hold both ways).
@Suite struct RingDeterminismTests {
    @Test func sameViewInAnyOrderGivesTheSameRing() {
        let view = RingFixtures.alive(RingFixtures.names(50))
            + [RingMember(name: "gone", status: .dead), RingMember(name: "slow", status: .suspect)]
        let reference = Ring(members: view, virtualNodesPerMember: 32)
        var rng = SeededRandom(seed: 11)
        for _ in 0..<10 {
            let ring = Ring(members: view.shuffled(using: &rng), virtualNodesPerMember: 32)
            #expect(ring == reference)
            #expect(ring.digest == reference.digest)
        }
    }

    @Test func duplicatesDoNotChangeTheRing() {
        let names = RingFixtures.names(8)
        let once = Ring(members: RingFixtures.alive(names), virtualNodesPerMember: 16)
        let twice = Ring(members: RingFixtures.alive(names + names.reversed()), virtualNodesPerMember: 16)
        #expect(once == twice)
    }

    /// Pins the token definition: xxHash64(name ‖ index as u32 LE, seed "chorusV1") and
    /// xxHash64(key, seed 0). Changing either reshuffles every cluster's placement.
    @Test func tokensMatchGoldenValues() {
        #expect(Token(key: "").value == 0xEF46_DB37_51D8_E999)
        #expect(Token(key: "locks/orders").description == "08ac17b03af7705e")
        #expect(Token.virtualNode(of: "node-1", index: 0).description == "2eebaa903acc4661")
        #expect(Token.virtualNode(of: "node-1", index: 127).description == "59145eeb6e0af45d")
    }

    @Test func ringDigestMatchesGoldenValue() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(10)), virtualNodesPerMember: 128)
        #expect(ring.count == 1280)
        #expect(ring.digestHex == "9a6929dd9e4591e1")
        let shards = ShardMap(ring: ring, shardCount: 64, replicationFactor: 3)
        let text = shards.placements.map(\.description).joined(separator: "\n")
        #expect(Token(key: text).description == "9cb25441c6637c54")
        #expect(shards.placement(ShardID(0)).description == "shard 0 @0200000000000000: node-7,node-2,node-8")
    }

    @Test func suspicionDoesNotChangeTheDigest() {
        var view = RingFixtures.alive(RingFixtures.names(12))
        let before = Ring(members: view).digest
        view[3].status = .suspect
        view[7].status = .suspect
        #expect(Ring(members: view).digest == before)
    }

    @Test func membershipSnapshotFeedsTheRing() throws {
        let m = try Membership(name: "solo", address: Endpoint(ip: .loopbackV4, port: 7946),
                               settings: MembershipSettings(), seed: 1, now: .zero)
        let ring = Ring(view: m.members(at: .zero))
        #expect(ring.members == ["solo"])
        #expect(ring.owner(of: Token(key: "anything")) == "solo")
    }
}
