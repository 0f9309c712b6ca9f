import ChorusBase
import ChorusCache
import ChorusSim
import Foundation
import Testing
@testable import ChorusNode

/// Whole-node cache runs under crashes, restarts, isolated nodes, loss, duplication and
/// reordering: at every instant one writer or many readers per key, every read linearizable,
/// no new-then-old — on every seed; and the planted fault (a home that sends a write's data
/// expecting one invalidation ack fewer) is caught.
@Suite struct NodeCacheRunTests {
    static func run(seed: UInt64, planted: Bool = false, mirrorPlanted: Bool = false, duration: Double = 4) throws -> NodeCacheReport {
        var s = NodeCacheSettings()
        s.seed = seed
        s.durationSeconds = duration
        var node = NodeCacheRun.nodeSettings(shards: s.shards)
        node.plantedBugs.cacheDataBeforeOneInvAck = planted
        node.plantedBugs.cacheMirrorKeepsRevokedCopies = mirrorPlanted
        let report = try NodeCacheRun(settings: s, node: node).run()
        if !report.passed {
            print("cache run seed \(seed)\(planted ? " (planted fault)" : "") failed; replay: CSEED=\(seed) swift test --skip-build "
                  + "--filter NodeCacheRunTests/hundredSeeds (prints every violation and each node's lines; CTRACE=KEY traces one key), or: \(s.replayLine)")
        }
        return report
    }

    @Test func oneSeed_printsItsReport() throws {
        let started = Date()
        let r = try NodeCacheRunTests.run(seed: 1)
        print("whole-node cache run seed 1: \(r.reads) reads (\(r.hits) hits, \(r.embeddedHits) from the embedding's mirror), \(r.writes) writes, \(r.increments) increments (\(r.unknownIncrements) unknown), \(r.failed) failed, \(r.invalidations) invalidations, \(r.crashes) crashes, \(r.partitions) partitions, \(Date().timeIntervalSince(started)) s")
        #expect(r.passed, "\(r.violations.prefix(5))")
        #expect(r.embeddedHits > 0, "no read was answered by a mirror of the copies")
    }

    /// The planted fault (the `.localCopies` effect leaves out the copies a node gave up, so
    /// the embedding's mirror keeps them) lets an embedded read see a value after a newer
    /// write finished: caught within 10 seeds, by the mirror check or the read checker.
    @Test func plantedMirrorKeepsRevokedCopies_isCaught() throws {
        let caughtAt = try NodeCacheRunTests.firstSeedCatching("mirror-keeps-revoked-copies", mirrorPlanted: true)
        #expect(caughtAt != nil, "the checker must catch the planted fault within 10 seeds")
    }

    /// The first of seeds 1…10 whose 3 s run with the planted fault fails its checks.
    static func firstSeedCatching(_ name: String, planted: Bool = false, mirrorPlanted: Bool = false) throws -> UInt64? {
        for seed in UInt64(1)...10 {
            let r = try NodeCacheRunTests.run(seed: seed, planted: planted, mirrorPlanted: mirrorPlanted, duration: 3)
            if !r.passed {
                print("planted \(name) caught at seed \(seed): \(r.violations[0])")
                return seed
            }
        }
        return nil
    }
}

extension NodeCacheRunTests {
    /// 100 seeds of a short run, in four slices that run side by side. `CSEED=n` runs one.
    @Test(arguments: 0..<4)
    func hundredSeeds_noViolation(slice: Int) throws {
        var failed: [String] = []
        let only = ProcessInfo.processInfo.environment["CSEED"].flatMap { UInt64($0) }
        for seed in UInt64(2 + slice * 25)...UInt64(26 + slice * 25) where only.map({ $0 == seed }) ?? true {
            let r = try NodeCacheRunTests.run(seed: seed, duration: 3)
            if !r.passed { failed.append("seed \(seed): \(r.violations.prefix(3))") }
            if only != nil { for v in r.violations { print(v) } }
        }
        #expect(failed.isEmpty, "\(failed.count) seeds failed:\n\(failed.prefix(5).joined(separator: "\n"))")
    }

    /// The planted fault (the home sends a write's data expecting one invalidation ack fewer
    /// than it sent revocations) lets a writer finish while a sharer still reads the old
    /// value: caught within 10 seeds.
    @Test func plantedDataBeforeOneInvAck_isCaught() throws {
        let caughtAt = try NodeCacheRunTests.firstSeedCatching("data-before-one-inv-ack", planted: true)
        #expect(caughtAt != nil, "the checker must catch the planted fault within 10 seeds")
    }
}

extension NodeCacheRunTests {
    /// The home writes a value through and dies before its invalidation reaches a sharer
    /// (the home → sharer direction is cut; Raft commits through the writer). The sharer may
    /// go on reading the old value, but only until its copy's lease ends — the writer never
    /// heard "written", so those reads are concurrent with the write — and once any node has
    /// read the new value, no node reads the old one again.
    @Test func homeKilledBetweenAWriteAndItsInvalidations_noNodeReadsStaleAfterwards() throws {
        let settings = NodeCacheRun.nodeSettings(shards: 2)
        let cluster = try NodeCluster(nodes: 3, settings: settings, seed: 7)
        #expect(cluster.settle())
        cluster.run(for: settings.cache.homeLeaseBound + settings.takeoverGrace + .milliseconds(200))
        let key = Array("hot".utf8), old = Array("old".utf8), new = Array("new".utf8)
        let shard = try #require(cluster.slots[0].node).cacheShardID(of: key)
        let home = try #require(cluster.leader(of: shard))
        let writer = (home + 1) % 3, sharer = (home + 2) % 3
        #expect(cluster.ask(.cachePut(key: key, value: old), at: writer) == .cacheWritten(key: key))
        #expect(cluster.ask(.cacheGet(key: key), at: sharer) == .cacheValue(key: key, value: old))
        #expect(cluster.ask(.cacheGet(key: key), at: writer) == .cacheValue(key: key, value: old))
        // The sharer's copy is readable once the home's grant completes (the writer's
        // downgrade acknowledged), which may come just after the read's answer.
        cluster.run(until: cluster.now + .seconds(1)) { c in
            c.slots[sharer].node?.cacheLine(of: key, at: c.time(sharer).now).readable == true
        }
        #expect(try #require(cluster.slots[sharer].node).cacheLine(of: key, at: cluster.time(sharer).now).readable)

        cluster.cut(from: home, to: sharer)
        let write = cluster.submit(.cachePut(key: key, value: new), to: writer)
        cluster.run(until: cluster.now + .seconds(2)) { c in
            c.slots[home].node?.host.machine(of: shard)?.cache.value(of: key).value == new
        }
        #expect(cluster.slots[home].node?.host.machine(of: shard)?.cache.value(of: key).value == new, "the write-through committed")
        #expect(cluster.replies[write] == nil, "the writer has not heard back")
        cluster.crashLosingInFlight(home)
        cluster.heal()
        let killedAt = cluster.now

        var asked: [ClientTicket: (node: Int, start: Instant)] = [:]
        var reads: [(node: Int, start: Instant, end: Instant, value: [UInt8]?)] = []
        var waiting: [Int: ClientTicket] = [:]
        for step in 0..<400 {
            if step == 50 { try cluster.restart(home) }
            for node in [writer, sharer] + (step > 60 ? [home] : []) where waiting[node] == nil {
                let t = cluster.submit(.cacheGet(key: key), to: node)
                asked[t] = (node, cluster.now)
                waiting[node] = t
            }
            cluster.run(for: .milliseconds(20))
            for (node, t) in waiting {
                guard let answer = cluster.replies[t], let a = asked[t] else { continue }
                waiting[node] = nil
                if case let .cacheValue(_, value) = answer.reply { reads.append((node, a.start, answer.at, value)) }
            }
        }
        let oldReads = reads.filter { $0.value == old }, newReads = reads.filter { $0.value == new }
        print("home n\(home) killed at \(killedAt) after writing through; \(oldReads.count) reads of the old value (last ended "
              + "\(oldReads.map(\.end).max().map { "\($0)" } ?? "-")), \(newReads.count) of the new (first at \(newReads.first.map { "\($0.end)" } ?? "-"))")
        #expect(!newReads.isEmpty)
        #expect(reads.allSatisfy { $0.value == old || $0.value == new })
        let firstNew = try #require(newReads.map(\.end).min())
        #expect(!oldReads.contains { $0.start > firstNew }, "an old value was read after the new one had been")
        let bound = killedAt + settings.cache.homeLeaseBound
        #expect(!oldReads.contains { $0.end > bound }, "the old value was read past the sharer's lease")
        for node in 0..<3 { #expect(cluster.ask(.cacheGet(key: key), at: node) == .cacheValue(key: key, value: new)) }
    }
}

extension NodeCacheRunTests {
    /// Same seed ⇒ same run: two runs of one seed observe the same operations and outcomes.
    @Test func sameSeed_sameRun() throws {
        let a = try NodeCacheRunTests.run(seed: 9, duration: 2), b = try NodeCacheRunTests.run(seed: 9, duration: 2)
        #expect(a.reads == b.reads && a.writes == b.writes && a.failed == b.failed && a.hits == b.hits
                && a.invalidations == b.invalidations && a.failures == b.failures && a.violations == b.violations)
    }
}
