import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Testing

/// Batches bounded by the frame limit: a follower that lags in many groups at once catches up
/// through frames that fit, and a refused frame makes the groups probe the peer.
@Suite struct BoundedBatchTests {
    /// Three nodes, `shards` groups on voters {1, 2, 3}, all led by node 1.
    private func placed(shards: Int, settings: ShardHostSettings) throws -> ShardTestCluster {
        let c = try ShardTestCluster(nodes: 3, settings: settings, seed: 5)
        try c.bootstrap(on: n1, shards: shards)
        let all = [n1, n2, n3]
        try c.setTargets(Dictionary(uniqueKeysWithValues: (0..<shards).map { (ShardID($0), all) }))
        let ready = try c.run(maxTicks: 400) { (0..<shards).allSatisfy { c.isPlaced(ShardID($0), voters: all) } }
        try #require(ready, "every shard reaches voters {1,2,3}")
        return c
    }

    /// Proposes `count` values of `size` bytes to every shard through node 1, a few per tick.
    private func write(_ c: ShardTestCluster, shards: Int, count: Int, size: Int, token: inout UInt64) throws {
        for i in 0..<count {
            for s in 0..<shards {
                token += 1
                let t = token
                let value = String(repeating: "v", count: size)
                _ = try c.withHost(n1) { try $0.propose(shard: ShardID(s), requestID: bytes("w\(t)"), command: put("k\(i)", value), token: t) }
            }
            if i % 4 == 3 { try c.tick() }
        }
    }

    @Test func followerBehindInManyGroups_catchesUpInFramesUnderTheLimit_withoutARefusal() throws {
        var settings = ShardHostSettings()
        settings.raft.maxMessageBytes = 4 << 10
        let shards = 8
        let c = try placed(shards: shards, settings: settings)
        var token: UInt64 = 0
        c.crash(n3)
        try write(c, shards: shards, count: 24, size: 1_000, token: &token)
        // Eight groups' catch-up (up to 4 KiB each) and their heartbeats exceed a 12 KiB frame.
        c.maxFrameBytes = 12 << 10
        try c.start(n3)
        let caughtUp = try c.run(maxTicks: 200) {
            (0..<shards).allSatisfy { c.host(n3).status(of: ShardID($0))?.applied == c.host(n1).status(of: ShardID($0))?.applied }
        }
        #expect(caughtUp)
        #expect(c.framesRefused == 0)
        let same = (0..<shards).filter { c.host(n3).machine(of: ShardID($0)) == c.host(n1).machine(of: ShardID($0)) }
        #expect(same.count == shards, "every shard's state equals the leader's")
        #expect(c.host(n3).counters.campaigns == 0, "it heard heartbeats throughout")
    }

    @Test func refusedFrame_isReportedUnreachable_andTheLeaderProbesInsteadOfStreaming() throws {
        let c = try placed(shards: 1, settings: ShardHostSettings())
        c.isolate(n2)
        let before = c.member(n1).flushes.count
        func appendsToN2(since start: Int) -> Int {
            c.member(n1).flushes[start...].joined().filter { $0.to == n2 }.flatMap(\.messages).count {
                if case let .appendEntries(a) = $0.message.body { return !a.entries.isEmpty }; return false
            }
        }
        var token: UInt64 = 0
        for _ in 0..<3 {
            token += 1
            let t = token
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("a\(t)"), command: put("k", "v"), token: t) }
        }
        #expect(appendsToN2(since: before) == 3, "streaming: one append per flush")
        try c.withHost(n1) { $0.reportUnreachable(peer: n2) }
        #expect(c.host(n1).counters.peersUnreachable == 1)
        let reported = c.member(n1).flushes.count
        for _ in 0..<3 {
            token += 1
            let t = token
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("a\(t)"), command: put("k", "v"), token: t) }
        }
        #expect(appendsToN2(since: reported) == 1, "probing: one append, then wait for an answer")
        c.recover()
        let healed = try c.run(maxTicks: 40) { c.host(n2).status(of: ShardID(0))?.applied == c.host(n1).status(of: ShardID(0))?.applied }
        #expect(healed)
    }
}
