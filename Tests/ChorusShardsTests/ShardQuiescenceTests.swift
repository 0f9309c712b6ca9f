import ChorusRaft
import ChorusRing
import ChorusShards
import Testing

/// Quiescent idle groups (`ShardHost+Quiescence`): idle groups go silent, work wakes them, and
/// a group whose leader membership reports gone elects a new one quickly — without deposing a
/// healthy leader on a false suspicion or after a follower restarts.
@Suite struct ShardQuiescenceTests {
    static let shards = 8
    let all = [n1, n2, n3]

    /// Three nodes, `shards` groups on voters {1, 2, 3}, all led by node 1, quiescing after
    /// 5 idle ticks (nil: never).
    private func placed(quiesceAfter: Int? = 5) throws -> ShardTestCluster {
        var settings = ShardHostSettings()
        settings.quiesceAfterTicks = quiesceAfter
        let c = try ShardTestCluster(nodes: 3, settings: settings, seed: 7)
        try c.bootstrap(on: n1, shards: Self.shards)
        try c.setTargets(Dictionary(uniqueKeysWithValues: (0..<Self.shards).map { (ShardID($0), all) }))
        let ready = try c.run(maxTicks: 400) { (0..<Self.shards).allSatisfy { c.isPlaced(ShardID($0), voters: all) } }
        try #require(ready, "every shard reaches voters {1,2,3}")
        return c
    }

    private func allQuiescent(_ c: ShardTestCluster) -> Bool {
        c.running.allSatisfy { $0.host?.quiescentCount == Self.shards }
    }

    private func terms(_ c: ShardTestCluster) -> [Term] {
        (0..<Self.shards).map { s in c.running.compactMap { $0.host?.status(of: ShardID(s))?.term }.max() ?? .zero }
    }

    private func leaders(_ c: ShardTestCluster) -> [NodeID?] { (0..<Self.shards).map { c.leader(of: ShardID($0)) } }

    @Test func idleGroupsQuiesce_andSendNothing() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) }, "every replica on every node quiesces")
        let before = c.batchesDelivered
        try c.tick(200)
        #expect(c.batchesDelivered == before, "no batch at all over 200 idle ticks")
        #expect(leaders(c) == Array(repeating: n1, count: Self.shards))
        for id in all { #expect(c.host(id).awakeCount == 0) }

        // The same cluster without quiescence heartbeats every group all the time.
        let loud = try placed(quiesceAfter: nil)
        let start = loud.batchesDelivered
        try loud.tick(200)
        #expect(loud.batchesDelivered - start >= 200, "without quiescence the idle groups keep heartbeating")
        #expect(loud.running.allSatisfy { $0.host?.quiescentCount == 0 })
    }

    @Test func aProposalWakesItsGroup_commitsOnEveryMember_andItQuiescesAgain() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) })
        let shard = ShardID(3)
        _ = try c.withHost(n1) { try $0.propose(shard: shard, requestID: bytes("r1"), command: put("k", "v"), token: 1) }
        #expect(!c.host(n1).isQuiescent(shard), "the proposal woke the leader")
        #expect(try c.run(maxTicks: 10) {
            guard case .applied = c.reply(n1, token: 1)?.outcome else { return false }
            return all.allSatisfy { c.host($0).status(of: shard)?.applied == c.host(n1).status(of: shard)?.commit }
        }, "the command commits and every member applies it")
        #expect(c.host(n2).status(of: shard)?.commit == c.host(n1).status(of: shard)?.commit)
        #expect(ShardID(0) != shard && c.host(n2).isQuiescent(ShardID(0)), "other groups stay quiescent")
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) }, "the group quiesces again once idle")
        #expect(leaders(c) == Array(repeating: n1, count: Self.shards))
    }

    @Test func membershipReportingTheLeaderDead_electsNewLeadersWithinOneSecond() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) })
        let before = terms(c)
        c.crash(n1)
        // Without a verdict nothing happens: the quiescent followers never time out.
        try c.tick(100)
        #expect(leaders(c) == Array(repeating: nil, count: Self.shards), "no liveness source, no failover")
        for id in [n2, n3] { try c.withHost(id) { $0.setUnavailable([n1]) } }
        // 20 ticks = 1 s at the agent's 50 ms tick.
        #expect(try c.run(maxTicks: 20) { leaders(c).allSatisfy { $0 == n2 || $0 == n3 } },
                "every group the dead node led has a new leader: \(leaders(c))")
        #expect(zip(terms(c), before).allSatisfy { $0 > $1 })
    }

    @Test func aFalseSuspicionByOneFollower_changesNoLeaderOrTerm() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) })
        let before = terms(c)
        try c.withHost(n2) { $0.setUnavailable([n1]) }
        try c.tick(100)
        try c.withHost(n2) { $0.setUnavailable([]) }
        #expect(try c.run(maxTicks: 100) { allQuiescent(c) }, "the cluster settles and quiesces again")
        #expect(leaders(c) == Array(repeating: n1, count: Self.shards))
        #expect(terms(c) == before)
    }

    @Test func aFalseSuspicionByEveryFollower_changesEachLeaderAtMostOnce() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) })
        var seen = leaders(c)
        var changes = Array(repeating: 0, count: Self.shards)
        func follow() throws {
            try c.tick()
            for (s, l) in leaders(c).enumerated() where l != nil && l != seen[s] {
                changes[s] += 1
                seen[s] = l
            }
        }
        for id in [n2, n3] { try c.withHost(id) { $0.setUnavailable([n1]) } }
        for _ in 0..<40 { try follow() }
        for id in [n2, n3] { try c.withHost(id) { $0.setUnavailable([]) } }
        for _ in 0..<200 { try follow() }
        #expect(allQuiescent(c), "the cluster settles and quiesces again")
        #expect(changes.allSatisfy { $0 <= 1 }, "each group changed leader at most once: \(changes)")
        #expect(leaders(c).allSatisfy { $0 != nil })
        let after = terms(c)
        try c.tick(200)
        #expect(terms(c) == after, "no election storm afterwards")
    }

    @Test func aRestartedFollower_doesNotDeposeTheQuiescentLeader() throws {
        let c = try placed()
        #expect(try c.run(maxTicks: 60) { allQuiescent(c) })
        let before = terms(c)
        c.crash(n3)
        // The transport tells the leader, as the agent's does: its progress of n3 goes back
        // to probing, where it stays once n3 is back and matches (nothing left to append).
        try c.withHost(n1) { $0.reportUnreachable(peer: n3) }
        try c.tick(10)
        try c.start(n3)
        #expect(try c.run(maxTicks: 300) { allQuiescent(c) }, "the restarted member hears its leaders again and they all quiesce")
        #expect(leaders(c) == Array(repeating: n1, count: Self.shards))
        #expect(terms(c) == before)
        for s in 0..<Self.shards { #expect(c.host(n3).status(of: ShardID(s))?.leader == n1) }
    }
    @Test func quiescentHeartbeats_travelInVersion3_andOtherBatchesKeepTheirVersion() throws {
        var b = ShardBatch(from: n1, to: n2, epoch: 9)
        b.heartbeats = [.init(shard: ShardID(1), term: Term(3), commit: LogIndex(7))]
        #expect(ShardBatchCodec.encode(b)[2] == 1, "no quiescent heartbeat, no snapshot item: version 1 as before")
        b.quiescentHeartbeats = [.init(shard: ShardID(2), term: Term(4), commit: LogIndex(12)),
                                 .init(shard: ShardID(5), term: Term(1), commit: LogIndex(1))]
        let encoded = ShardBatchCodec.encode(b)
        #expect(encoded[2] == 3)
        #expect(try ShardBatchCodec.decode(encoded) == b)
        let frames = ShardBatchCodec.frames(b, maxFrameBytes: 64)
        let decoded = try frames.map { try ShardBatchCodec.decode($0) }
        #expect(decoded.flatMap(\.quiescentHeartbeats) == b.quiescentHeartbeats, "frames carry each quiescent heartbeat once")
        #expect(decoded.flatMap(\.heartbeats) == b.heartbeats)
        for cut in 0..<encoded.count { #expect(throws: (any Error).self) { try ShardBatchCodec.decode(Array(encoded[..<cut])) } }
        var shardOutOfRange = encoded
        shardOutOfRange[shardOutOfRange.count - 3] = 0xFF // the last triple's shard varint now continues
        #expect(throws: (any Error).self) { try ShardBatchCodec.decode(shardOutOfRange) }
    }
}
