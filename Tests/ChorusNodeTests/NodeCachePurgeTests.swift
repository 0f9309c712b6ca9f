import ChorusBase
import ChorusCache
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// Expired cache records leave the shard: the leader's purge removes them from every
/// replica's state, leaves keys without an expiry (and live ones) alone, and a key purged
/// reads as absent and is written again as usual.
@Suite struct NodeCachePurgeTests {
    /// The key's record on every node that hosts its shard (nil: absent there).
    static func records(of key: [UInt8], in cluster: NodeCluster) -> [ShardCacheValues.Record?] {
        (0..<cluster.slots.count).compactMap { i in
            guard let node = cluster.slots[i].node, let machine = node.host.machine(of: node.cacheShardID(of: key)) else { return nil }
            return .some(machine.cache.record(of: key))
        }
    }

    @Test(arguments: [UInt64(21), 22])
    func anExpiredKey_leavesEveryReplicasShard_whileOthersStay(seed: UInt64) throws {
        let cluster = try NodeCacheCounterTests.cluster(seed: seed)
        let short = Array("short".utf8), long = Array("long".utf8), plain = Array("plain".utf8)
        let value = Array("v".utf8)
        #expect(cluster.ask(.cachePutExpiring(key: short, value: value, ttlMillis: 1_000), at: 0) == .cacheWritten(key: short))
        #expect(cluster.ask(.cachePutExpiring(key: long, value: value, ttlMillis: 600_000), at: 1) == .cacheWritten(key: long))
        #expect(cluster.ask(.cachePut(key: plain, value: value), at: 2) == .cacheWritten(key: plain))
        #expect(cluster.ask(.cacheGet(key: short), at: 1) == .cacheValue(key: short, value: value))
        let writtenAt = cluster.now
        let before = NodeCachePurgeTests.records(of: short, in: cluster)
        #expect(before.count >= 3 && before.allSatisfy { $0?.value == value }, "every replica holds the record: \(before)")

        // Past the TTL (and the home's 1 % clock allowance), a purge round and its commit.
        cluster.run(until: writtenAt + .milliseconds(1_000 + 2_500))
        let after = NodeCachePurgeTests.records(of: short, in: cluster)
        #expect(after.count >= 3 && after.allSatisfy { $0 == nil }, "the expired record is still held: \(after)")
        for key in [long, plain] {
            #expect(NodeCachePurgeTests.records(of: key, in: cluster).allSatisfy { $0?.value == value }, "\(key) was purged")
        }
        for node in 0..<3 {
            #expect(cluster.ask(.cacheGet(key: short), at: node) == .cacheValue(key: short, value: nil))
            #expect(cluster.ask(.cacheGet(key: long), at: node) == .cacheValue(key: long, value: value))
        }

        // Written again after the purge: read everywhere, at a version above the purged one.
        let again = Array("again".utf8)
        #expect(cluster.ask(.cachePut(key: short, value: again), at: 2) == .cacheWritten(key: short))
        for node in 0..<3 { #expect(cluster.ask(.cacheGet(key: short), at: node) == .cacheValue(key: short, value: again)) }
        let rewritten = NodeCachePurgeTests.records(of: short, in: cluster)
        let oldVersion = before.compactMap { $0?.version }.max() ?? 0
        #expect(rewritten.allSatisfy { ($0?.version ?? 0) > oldVersion }, "versions went back: \(rewritten) after \(oldVersion)")
    }
}
