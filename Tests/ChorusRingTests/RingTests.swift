import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// Membership rules, lookups and successor lists.
@Suite struct RingTests {
    @Test func aliveAndSuspectAreOnTheRingDeadAndLeftAreNot() {
        let ring = Ring(members: [
            RingMember(name: "a", status: .alive),
            RingMember(name: "s", status: .suspect),
            RingMember(name: "d", status: .dead),
            RingMember(name: "l", status: .left),
        ], virtualNodesPerMember: 8)
        #expect(ring.members == ["a", "s"])
        #expect(ring.count == 16)
        #expect(ring.contains("s") && !ring.contains("d") && !ring.contains("l"))
    }

    @Test func membersAreSortedByUTF8Bytes() {
        // "Z" (0x5A) < "a" (0x61) < "é" (0xC3 0xA9): byte order, not locale order.
        let ring = Ring(members: RingFixtures.alive(["é", "a", "Z"]), virtualNodesPerMember: 1)
        #expect(ring.members == ["Z", "a", "é"])
        #expect(ring.index(of: "a") == 1)
        #expect(ring.index(of: "b") == nil)
    }

    @Test func emptyRingHasNoOwnerAndNoSuccessors() {
        let ring = Ring(members: [RingMember(name: "x", status: .dead)])
        #expect(ring.isEmpty)
        #expect(ring.owner(of: Token(42)) == nil)
        #expect(ring.successors(of: Token(42), count: 3).isEmpty)
        #expect(ring.shares.isEmpty)
    }

    @Test func virtualNodesAreSortedAndCarryTheirTokens() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(5)), virtualNodesPerMember: 20)
        let nodes = ring.virtualNodes
        #expect(nodes.count == 100)
        for (a, b) in zip(nodes, nodes.dropFirst()) { #expect(a.token < b.token) }
        for n in nodes { #expect(n.token == Token.virtualNode(of: n.member, index: n.index)) }
        #expect(Set(nodes.map(\.member)).count == 5)
    }

    @Test func ownerIsTheFirstVirtualNodeAtOrAfterTheToken() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(7)), virtualNodesPerMember: 10)
        let nodes = ring.virtualNodes
        // A token exactly on a virtual node belongs to it; one past belongs to the next.
        for (i, n) in nodes.enumerated() {
            #expect(ring.owner(of: n.token) == n.member)
            if n.token.value < UInt64.max {
                #expect(ring.owner(of: Token(n.token.value + 1)) == nodes[(i + 1) % nodes.count].member)
            }
        }
        // Past the last virtual node the search wraps to the first.
        #expect(ring.owner(of: Token(UInt64.max)) == (nodes.last!.token.value == .max ? nodes.last!.member : nodes[0].member))
        #expect(ring.owner(of: Token(0)) == nodes[0].member)
    }

    @Test func lookupsAgreeWithBruteForce() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(13)), virtualNodesPerMember: 6)
        var rng = SeededRandom(seed: 5)
        for _ in 0..<500 {
            let token = Token(rng.next())
            for r in [1, 3, 5, 13, 20] {
                #expect(ring.successors(of: token, count: r) == RingFixtures.naiveSuccessors(ring, of: token, count: r))
            }
            #expect(ring.owner(of: token) == RingFixtures.naiveSuccessors(ring, of: token, count: 1).first)
        }
    }

    @Test(arguments: [1, 2, 3, 5, 9, 40])
    func successorListsAreDistinctAndStartWithTheOwner(count: Int) {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(20)), virtualNodesPerMember: 4)
        for key in RingFixtures.keyTokens(300) {
            let list = ring.successors(of: key, count: count)
            #expect(list.count == min(count, 20))
            #expect(Set(list).count == list.count)
            #expect(list.first == ring.owner(of: key))
        }
    }

    @Test func equalTokensAreBrokenByName() {
        // Force collisions: "b"#0 and "a"#1 both sit at 100, "a"#0 and "b"#1 at 200.
        let ring = Ring(sortedUniqueMembers: ["a", "b"], virtualNodesPerMember: 2, rawTokens: [200, 100, 100, 200])
        let order = ring.virtualNodes.map { "\($0.member)#\($0.index)@\($0.token.value)" }
        #expect(order == ["a#1@100", "b#0@100", "a#0@200", "b#1@200"])
        #expect(ring.owner(of: Token(100)) == "a")
        #expect(ring.owner(of: Token(150)) == "a")
        #expect(ring.successors(of: Token(100), count: 2) == ["a", "b"])
        #expect(ring.shares == [1.0, 0.0])
    }

    @Test func sharesSumToOneAndTrackKeyCounts() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(10)), virtualNodesPerMember: 64)
        let shares = ring.shares
        #expect(abs(shares.reduce(0, +) - 1) < 1e-9)
        let keys = RingFixtures.keyTokens(100_000)
        var counts = [Int](repeating: 0, count: 10)
        for k in keys { counts[ring.ownerIndex(of: k)!] += 1 }
        for (share, c) in zip(shares, counts) {
            // 10,000 keys per member on average: Poisson noise is about 1%.
            #expect(abs(Double(c) / Double(keys.count) - share) < 0.006)
        }
    }

    @Test func singleVirtualNodeOwnsEverything() {
        let ring = Ring(members: RingFixtures.alive(["only"]), virtualNodesPerMember: 1)
        #expect(ring.shares == [1.0])
        // Many arcs of one member add up to exactly the whole ring, not 1 - ε.
        #expect(Ring(members: RingFixtures.alive(["only"]), virtualNodesPerMember: 128).shares == [1.0])
        #expect(ring.successors(of: Token(7), count: 3) == ["only"])
    }
}
