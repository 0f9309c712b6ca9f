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
    static func run(seed: UInt64, planted: Bool = false, duration: Double = 4) throws -> NodeCacheReport {
        var s = NodeCacheSettings()
        s.seed = seed
        s.durationSeconds = duration
        var node = NodeCacheRun.nodeSettings(shards: s.shards)
        node.plantedBugs.cacheDataBeforeOneInvAck = planted
        let report = try NodeCacheRun(settings: s, node: node).run()
        if !report.passed {
            print("cache run seed \(seed) failed; replay: swift test --filter NodeCacheRunTests with CSEED=\(seed)\(planted ? " (planted)" : "") — \(s.replayLine)")
        }
        return report
    }

    @Test func oneSeed_printsItsReport() throws {
        let started = Date()
        let r = try NodeCacheRunTests.run(seed: 1)
        print("whole-node cache run seed 1: \(r.reads) reads (\(r.hits) hits), \(r.writes) writes, \(r.failed) failed, \(r.invalidations) invalidations, \(r.crashes) crashes, \(r.partitions) partitions, \(Date().timeIntervalSince(started)) s")
        #expect(r.passed, "\(r.violations.prefix(5))")
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
        var caughtAt: UInt64?
        for seed in UInt64(1)...10 {
            let r = try NodeCacheRunTests.run(seed: seed, planted: true, duration: 3)
            if !r.passed {
                caughtAt = seed
                print("planted data-before-one-inv-ack caught at seed \(seed): \(r.violations[0])")
                break
            }
        }
        #expect(caughtAt != nil, "the checker must catch the planted fault within 10 seeds")
    }
}
