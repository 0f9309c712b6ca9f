import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// Fixed shards placed on the ring: key to shard, shard tokens, replicas and the changes a
/// membership change causes.
@Suite struct ShardMapTests {
    static func map(_ names: [String], shards: Int = 64, replicas: Int = 3) -> ShardMap {
        ShardMap(ring: Ring(members: RingFixtures.alive(names)), shardCount: shards, replicationFactor: replicas)
    }

    @Test func keysSpreadEvenlyOverShardsWhateverTheMembers() {
        let small = Self.map(RingFixtures.names(3)), large = Self.map(RingFixtures.names(40))
        var counts = [Int](repeating: 0, count: 64)
        for i in 0..<64_000 {
            let key = "lock/\(i)"
            let s = small.shard(forKey: key)
            #expect(s == large.shard(forKey: key))
            counts[s.index] += 1
        }
        // 1,000 per shard expected; Poisson spread ≈ 32, so ±15% is about 5 spreads.
        #expect(counts.min()! > 850 && counts.max()! < 1_150, "\(counts.min()!)...\(counts.max()!)")
    }

    @Test(arguments: [1, 3, 64, 1000, 65_536])
    func shardTokensSitInTheMiddleOfTheirRanges(shards: Int) {
        for i in [0, shards / 2, shards - 1] {
            let id = ShardID(i)
            let token = ShardMap.token(of: id, shardCount: shards)
            #expect(ShardMap.shard(of: token, shardCount: shards) == id)
        }
        #expect(ShardMap.shard(of: Token(0), shardCount: shards) == ShardID(0))
        #expect(ShardMap.shard(of: Token(.max), shardCount: shards) == ShardID(shards - 1))
        if shards == 64 {
            #expect(ShardMap.token(of: ShardID(0), shardCount: 64).value == 1 << 57)
            #expect(ShardMap.token(of: ShardID(1), shardCount: 64).value == 3 << 57)
        }
    }

    @Test func placementIsTheSuccessorListOfTheShardToken() {
        let ring = Ring(members: RingFixtures.alive(RingFixtures.names(9)))
        let map = ShardMap(ring: ring)
        #expect(map.placements.count == 64)
        for (i, p) in map.placements.enumerated() {
            #expect(p.shard == ShardID(i))
            #expect(p.replicas == ring.successors(of: p.token, count: 3))
            #expect(Set(p.replicas).count == 3)
        }
    }

    @Test(arguments: [(1, 1), (2, 2), (3, 3), (4, 3)])
    func replicasShrinkWhileTheClusterIsSmall(members: Int, expected: Int) {
        let map = Self.map(RingFixtures.names(members))
        for p in map.placements { #expect(p.replicas.count == expected) }
    }

    @Test func noMembersMeansNoReplicas() {
        let map = Self.map([])
        #expect(map.placements.allSatisfy { $0.replicas.isEmpty })
    }

    @Test func joinChangesExactlyTheShardsThatNowListTheNewcomer() {
        let names = RingFixtures.names(12)
        let before = Self.map(names), after = Self.map(names + ["newcomer"])
        let changes = after.changes(since: before)
        #expect(Set(changes.map(\.shard)) == Set(after.shards(hostedBy: "newcomer")))
        for c in changes {
            #expect(c.added == ["newcomer"])
            #expect(c.removed.count == 1)
        }
        // About R/(N+1) of the shards: 64 · 3/13 ≈ 15.
        #expect(changes.count >= 7 && changes.count <= 25, "\(changes.count) shards moved")
    }

    @Test(arguments: [MemberStatus.dead, .left])
    func lossChangesExactlyTheShardsThatListedTheMember(status: MemberStatus) {
        let names = RingFixtures.names(12)
        var view = RingFixtures.alive(names)
        let before = ShardMap(ring: Ring(members: view))
        view[5].status = status
        let after = ShardMap(ring: Ring(members: view))
        let changes = after.changes(since: before)
        #expect(Set(changes.map(\.shard)) == Set(before.shards(hostedBy: names[5])))
        for c in changes {
            #expect(c.removed == [names[5]])
            #expect(c.added.count == 1 && c.added != [names[5]])
        }
    }

    @Test func suspicionChangesNoShard() {
        var view = RingFixtures.alive(RingFixtures.names(7))
        let before = ShardMap(ring: Ring(members: view))
        view[0].status = .suspect
        #expect(ShardMap(ring: Ring(members: view)).changes(since: before).isEmpty)
    }

    @Test func growingFromTwoToThreeMembersAddsTheThirdReplica() {
        let before = Self.map(["a", "b"]), after = Self.map(["a", "b", "c"])
        let changes = after.changes(since: before)
        #expect(changes.count == 64)
        for c in changes { #expect(c.added == ["c"] && c.removed.isEmpty) }
    }

    @Test func replicasSpreadOverMembers() {
        // 64 shards × 3 replicas over 10 members: 19.2 each on average.
        let map = Self.map(RingFixtures.names(10))
        let counts = RingFixtures.names(10).map { map.shards(hostedBy: $0).count }
        #expect(counts.reduce(0, +) == 192)
        #expect(counts.min()! >= 10 && counts.max()! <= 30, "\(counts)")
    }

    /// Why shard tokens are spread evenly instead of hashed: averaged over 40 clusters, the
    /// spread of replicas per member is smaller (docs/ring.md has the figures).
    @Test(arguments: [(20, 8), (20, 128)])
    func evenShardTokensSpreadReplicasBetterThanHashedOnes(members: Int, vnodes: Int) {
        func spread(_ ring: Ring, _ token: (Int) -> Token) -> Double {
            var counts = [Double](repeating: 0, count: members)
            for i in 0..<64 { for m in ring.successorIndices(of: token(i), count: 3) { counts[m] += 1 } }
            let mean = 192 / Double(members)
            return (counts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(members)).squareRoot() / mean
        }
        var even = 0.0, hashed = 0.0
        for t in 0..<40 {
            let ring = Ring(members: RingFixtures.alive(RingFixtures.names(members, prefix: "c\(t)-n")),
                            virtualNodesPerMember: vnodes)
            even += spread(ring) { ShardMap.token(of: ShardID($0), shardCount: 64) } / 40
            hashed += spread(ring) { Token(key: "shard-\($0)") } / 40
        }
        #expect(even < hashed, "even \(even), hashed \(hashed)")
    }
}
