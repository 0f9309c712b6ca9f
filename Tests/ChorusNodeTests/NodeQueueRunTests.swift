import ChorusBase
import ChorusSim
import Foundation
import Testing
@testable import ChorusNode

/// Whole-node queue runs under crashes, restarts, isolated nodes, loss, duplication and
/// reordering: nothing acknowledged is lost, an acked message stays gone, delivery counts
/// only grow — on every seed; and the planted fault (a publish acknowledged before its entry
/// commits) is caught.
@Suite struct NodeQueueRunTests {
    static func run(seed: UInt64, planted: Bool = false, duration: Double = 6) throws -> NodeQueueReport {
        var s = NodeQueueSettings()
        s.seed = seed
        s.durationSeconds = duration
        var node = NodeCluster.settings(shards: s.shards)
        node.plantedBugs.queueAckBeforeCommit = planted
        return try NodeQueueRun(settings: s, node: node).run()
    }

    @Test func oneSeed_printsItsReport() throws {
        let started = Date()
        let r = try NodeQueueRunTests.run(seed: 1)
        print("whole-node queue run seed 1: \(r.acknowledgedPublishes) acknowledged publishes, \(r.consumerAcks) acked, \(r.deliveries) deliveries (\(r.duplicateDeliveries) duplicates, \(r.storedTwice) stored twice), \(r.crashes) crashes, \(r.partitions) partitions, \(Date().timeIntervalSince(started)) s")
        #expect(r.passed, "\(r.violations.prefix(5))")
        #expect(r.acknowledgedPublishes > 100 && r.crashes + r.partitions > 0)
    }
}

extension NodeQueueRunTests {
    /// 40 seeds of a short run, in four slices that run side by side.
    @Test(arguments: 0..<4)
    func fortySeeds_noViolation(slice: Int) throws {
        var failed: [String] = []
        for seed in UInt64(2 + slice * 10)...UInt64(11 + slice * 10) where ProcessInfo.processInfo.environment["QSEED"].map({ UInt64($0) == seed }) ?? true {
            let r = try NodeQueueRunTests.run(seed: seed, duration: 4)
            if !r.passed { failed.append("seed \(seed): \(r.violations.prefix(3))") }
        }
        #expect(failed.isEmpty, "\(failed.count) seeds failed:\n\(failed.prefix(5).joined(separator: "\n"))")
    }

    /// The planted fault (the leader answers a publish before its entry commits) loses
    /// acknowledged messages when the leader crashes or is cut off: caught within 20 seeds.
    @Test func plantedAckBeforeCommit_isCaught() throws {
        var caughtAt: UInt64?
        for seed in UInt64(1)...20 {
            let r = try NodeQueueRunTests.run(seed: seed, planted: true, duration: 4)
            if !r.passed {
                caughtAt = seed
                print("planted ack-before-commit caught at seed \(seed): \(r.violations[0])")
                break
            }
        }
        #expect(caughtAt != nil, "the checker must catch the planted fault within 20 seeds")
    }
}
