import ChorusBase
import ChorusCache
import ChorusSim
import Testing
@testable import ChorusNode

/// Increments and TTLs through whole nodes: an increment is one read-modify-write in the
/// key's shard, so increments from several nodes at once lose none and no two see the same
/// result; Redis's refusals (not an integer, overflow) come back as errors and change
/// nothing; a key written with a TTL reads as absent on every node once it has passed,
/// copies included.
@Suite struct NodeCacheCounterTests {
    static func cluster(seed: UInt64, loss: Double = 0) throws -> NodeCluster {
        let settings = NodeCacheRun.nodeSettings(shards: 2)
        let cluster = try NodeCluster(nodes: 3, settings: settings, seed: seed)
        #expect(cluster.settle())
        cluster.run(for: settings.cache.homeLeaseBound + settings.takeoverGrace + .milliseconds(200))
        cluster.faults.loss = loss
        return cluster
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func incrementsFromThreeNodesAtOnce_loseNone_andEachSeesItsOwnResult(seed: UInt64) throws {
        let cluster = try NodeCacheCounterTests.cluster(seed: seed, loss: seed == 3 ? 0.02 : 0)
        let key = Array("counter".utf8)
        var tickets: [ClientTicket] = []
        for round in 0..<15 {
            for node in 0..<3 { tickets.append(cluster.submit(.cacheIncrement(key: key, by: 1), to: node)) }
            cluster.run(for: .milliseconds(Int64(round % 3) * 7))
        }
        cluster.run(until: cluster.now + .seconds(20)) { c in tickets.allSatisfy { c.replies[$0] != nil } }
        var results: [Int64] = []
        var unknown = 0
        for t in tickets {
            switch cluster.replies[t]?.reply {
            case let .cacheInteger(_, n)?: results.append(n)
            case .failure?: unknown += 1
            default: Issue.record("ticket \(t): \(String(describing: cluster.replies[t]?.reply))")
            }
        }
        #expect(Set(results).count == results.count, "two increments saw the same result: \(results.sorted())")
        let final = cluster.ask(.cacheGet(key: key), at: 0)
        guard case let .cacheValue(_, value?)? = final, let n = Int64(String(decoding: value, as: UTF8.self)) else {
            Issue.record("final read: \(String(describing: final))"); return
        }
        // Every acknowledged increment is in; one whose answer was lost may or may not be.
        #expect(results.allSatisfy { $0 <= n })
        #expect(n >= Int64(results.count) && n <= Int64(tickets.count))
        if unknown == 0 { #expect(n == Int64(tickets.count)); #expect(results.sorted() == Array(1...Int64(tickets.count))) }
    }

    @Test func incrementOfText_orPastInt64_isRefused_andLeavesTheValue() throws {
        let cluster = try NodeCacheCounterTests.cluster(seed: 4)
        let text = Array("text".utf8), big = Array("big".utf8)
        #expect(cluster.ask(.cachePut(key: text, value: Array("abc".utf8)), at: 0) == .cacheWritten(key: text))
        guard case let .failure(f)? = cluster.ask(.cacheIncrement(key: text, by: 1), at: 1) else { Issue.record("accepted"); return }
        #expect(f.code == .rejected && f.message == "value is not an integer or out of range")
        #expect(cluster.ask(.cacheGet(key: text), at: 2) == .cacheValue(key: text, value: Array("abc".utf8)))
        #expect(cluster.ask(.cacheIncrement(key: big, by: .max), at: 2) == .cacheInteger(key: big, value: .max))
        guard case .failure? = cluster.ask(.cacheIncrement(key: big, by: 1), at: 0) else { Issue.record("overflowed"); return }
        #expect(cluster.ask(.cacheIncrement(key: big, by: .min), at: 1) == .cacheInteger(key: big, value: -1))
    }

    @Test func aKeyWithATTL_readsAsAbsentEverywhereOnceItPassed_copiesIncluded() throws {
        let cluster = try NodeCacheCounterTests.cluster(seed: 5)
        let key = Array("session".utf8), value = Array("token".utf8)
        #expect(cluster.ask(.cachePutExpiring(key: key, value: value, ttlMillis: 1_200), at: 0) == .cacheWritten(key: key))
        // The home fixed the expiry before it answered; its clock may run 1 % slow.
        let writtenAt = cluster.now
        for node in 0..<3 { #expect(cluster.ask(.cacheGet(key: key), at: node) == .cacheValue(key: key, value: value)) }
        #expect((0..<3).contains { cluster.slots[$0].node?.cacheLine(of: key, at: cluster.time($0).now).readable == true })
        cluster.run(until: writtenAt + .milliseconds(900))
        #expect(cluster.ask(.cacheGet(key: key), at: 1) == .cacheValue(key: key, value: value), "not yet expired")
        cluster.run(until: writtenAt + .milliseconds(1_200 * 102 / 100))
        for node in 0..<3 {
            #expect(cluster.slots[node].node?.cacheLine(of: key, at: cluster.time(node).now).readable != true,
                    "node \(node) may still read a copy past the key's TTL")
            #expect(cluster.ask(.cacheGet(key: key), at: node) == .cacheValue(key: key, value: nil))
        }
        // A plain write afterwards does not expire.
        #expect(cluster.ask(.cachePut(key: key, value: value), at: 1) == .cacheWritten(key: key))
        cluster.run(for: .seconds(3))
        #expect(cluster.ask(.cacheGet(key: key), at: 2) == .cacheValue(key: key, value: value))
    }

    @Test func anIncrementKeepsTheKeysTTL() throws {
        let cluster = try NodeCacheCounterTests.cluster(seed: 6)
        let key = Array("hits".utf8)
        #expect(cluster.ask(.cachePutExpiring(key: key, value: Array("10".utf8), ttlMillis: 1_500), at: 0) == .cacheWritten(key: key))
        let started = cluster.now
        #expect(cluster.ask(.cacheIncrement(key: key, by: 5), at: 1) == .cacheInteger(key: key, value: 15))
        #expect(cluster.ask(.cacheGet(key: key), at: 2) == .cacheValue(key: key, value: Array("15".utf8)))
        cluster.run(until: started + .milliseconds(1_500 * 102 / 100))
        #expect(cluster.ask(.cacheGet(key: key), at: 1) == .cacheValue(key: key, value: nil))
        #expect(cluster.ask(.cacheIncrement(key: key, by: 1), at: 2) == .cacheInteger(key: key, value: 1), "expired: from 0 again")
    }
}
