import ChorusRaft
import ChorusRing
import ChorusShards
import XCTest

/// One batch per peer per flush, heartbeats coalesced (CockroachDB, TiKV), one fsync for all
/// groups.
final class ShardHostBatchingTests: XCTestCase {
    func testIdleClusterOf64Shards_sendsEachPeerAtMostOneBatchPerFlush_withHeartbeatsCoalesced() throws {
        let shards = 64
        let c = try ShardTestCluster.placed(shards: shards)
        // Spread leadership so every node both sends heartbeats and answers them: each shard's
        // primary (first in its target) gets it (Rebalancer rule 4c).
        let all = [n1, n2, n3]
        try c.setTargets(Dictionary(uniqueKeysWithValues: (0..<shards).map { s in
            (ShardID(s), Array(all[(s % 3)...] + all[..<(s % 3)]))
        }))
        XCTAssertTrue(try c.run(maxTicks: 60) {
            (0..<shards).allSatisfy { s in c.leader(of: ShardID(s)) == [n1, n2, n3][s % 3] }
        })
        try c.tick(5)
        for id in [n1, n2, n3] { XCTAssertEqual(c.host(id).leadersHeld, 64 / 3 + (id == n1 ? 1 : 0)) }
        let flushesBefore = c.members.map(\.flushes.count)
        let syncsBefore = c.members.map { $0.store?.syncs ?? 0 }
        let ticks = 20
        try c.tick(ticks)
        var batches = 0, messages = 0, uncoalesced = 0
        for (k, m) in c.members.enumerated() {
            let flushes = m.flushes.dropFirst(flushesBefore[k])
            for flush in flushes {
                let destinations = flush.map(\.to)
                XCTAssertEqual(destinations, Array(Set(destinations)).sorted(), "\(m.id): one batch per peer, in id order")
                XCTAssertFalse(destinations.contains(m.id))
                for b in flush {
                    XCTAssertEqual(b.from, m.id)
                    XCTAssertEqual(b.epoch, 0xC0FFEE)
                    XCTAssertFalse(b.isEmpty)
                    batches += 1
                    messages += b.messageCount
                    uncoalesced += b.messages.count
                }
            }
            // Nothing to persist while idle: no fsync at all.
            XCTAssertEqual(m.store?.syncs, syncsBefore[k], "\(m.id)")
        }
        XCTAssertEqual(uncoalesced, 0, "an idle cluster sends only coalesced heartbeats and answers")
        // Each leader heartbeats each follower of each group every other tick
        // (heartbeatTicks = 2), and each heartbeat is answered.
        XCTAssertEqual(messages, ticks / 2 * shards * 2 * 2)
        // One batch per (node, peer) per tick for heartbeats and one for the answers.
        XCTAssertLessThanOrEqual(batches, ticks * 3 * 2 * 2)
        XCTAssertGreaterThanOrEqual(messages / batches, 10, "\(messages) messages in \(batches) batches")
    }

    func testProposalsToManyGroups_shareOneSyncAndOneBatchPerPeer() throws {
        let c = try ShardTestCluster.placed(shards: 16)
        let syncs = c.member(n1).store?.syncs ?? 0
        let flushes = c.member(n1).flushes.count
        // Proposals to every group, then one drive: one flush.
        try c.withHost(n1) { host in
            for s in 0..<16 {
                _ = try host.propose(shard: ShardID(s), requestID: bytes("r\(s)"), command: put("k", "v\(s)"), token: UInt64(s + 1))
            }
        }
        XCTAssertEqual(c.member(n1).store?.syncs, syncs + 1, "one fsync for sixteen groups")
        let flush = c.member(n1).flushes.dropFirst(flushes)
        XCTAssertEqual(flush.count, 1)
        XCTAssertEqual(flush.first?.map(\.to), [n2, n3])
        XCTAssertEqual(flush.first?.map(\.messages.count), [16, 16], "one AppendEntries per group per peer")
        XCTAssertTrue(try c.run(maxTicks: 10) { (1...16).allSatisfy { c.reply(n1, token: UInt64($0)) != nil } })
    }
}
