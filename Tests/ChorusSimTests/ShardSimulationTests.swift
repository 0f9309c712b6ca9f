import ChorusSim
import Testing

/// Swift Testing rather than XCTest: `swift test` runs XCTest cases one after another before
/// the parallel Swift Testing suites, and the kill/add/drain run alone took 85 s of that.
@Suite struct ShardSimulationTests {
    /// Issue scenario: 20 nodes, 64 shards, R=3; three nodes killed one after another, five
    /// added, two removed gracefully. Every shard ends led, on its placement with 3 live
    /// replicas, and no acknowledged write is lost.
    @Test func killAddDrain_everyShardEndsOnPlacement_noAcknowledgedWriteLost() throws {
        var settings = ShardSimulationSettings()
        settings.seed = 7
        settings.host.snapshotEvery = 40 // compaction and snapshot transfer to new replicas happen too
        let sim = try ShardSimulation(settings: settings)
        sim.schedule(.crash(3), at: 10)
        sim.schedule(.crash(7), at: 25)
        sim.schedule(.crash(11), at: 40)
        for (k, i) in (20..<25).enumerated() { sim.schedule(.add(i), at: 55 + Double(k)) }
        sim.schedule(.drain(1), at: 75)
        sim.schedule(.drain(2), at: 76)
        sim.stopClients(at: 110)
        sim.run(until: 130)
        let report = sim.check()
        print("shard simulation: \(report.summary)")
        for line in sim.log { print("  \(line)") }
        #expect(report.problems == [])
        #expect(report.shardsLed == 64)
        #expect(report.shardsOnPlacement == 64)
        #expect(report.writesLost == 0)
        #expect(report.writesAcknowledged > 4_000)
        #expect(report.snapshotsSent > 0)
        #expect(sim.log.contains { $0.contains("n1 left after drain (0 voting") }, "n1 handed off every replica before leaving")
        #expect(sim.log.contains { $0.contains("n2 left after drain (0 voting") }, "n2 handed off every replica before leaving")
    }

    /// Same seed, same run: the counts of everything sent agree exactly.
    @Test func sameSeed_sameRun() throws {
        func run() throws -> String {
            var settings = ShardSimulationSettings()
            settings.nodes = 6
            settings.shards = 8
            settings.seed = 3
            let sim = try ShardSimulation(settings: settings)
            sim.schedule(.crash(2), at: 4)
            sim.schedule(.add(6), at: 6)
            sim.stopClients(at: 12)
            sim.run(until: 15)
            let r = sim.check()
            #expect(r.problems == [])
            return r.summary + sim.log.joined(separator: ";")
        }
        let first = try run(), second = try run()
        #expect(first == second)
    }

    /// Split-brain guard: a node cut off from everyone is wrongly declared dead, so placement
    /// moves its replicas away; while isolated it commits nothing (a minority), and after the
    /// partition heals no acknowledged write is lost and every shard settles again.
    @Test func isolatedLeader_commitsNothing_andLosesNothingAfterHeal() throws {
        var settings = ShardSimulationSettings()
        settings.nodes = 7
        settings.shards = 16
        settings.seed = 11
        let sim = try ShardSimulation(settings: settings)
        sim.schedule(.isolate(0), at: 6) // the founder, which leads many groups
        sim.schedule(.heal(0), at: 22)
        sim.stopClients(at: 32)
        sim.run(until: 45)
        let report = sim.check()
        print("isolation: \(report.summary), \(sim.proposedWhileIsolated) proposed and \(sim.acknowledgedWhileIsolated) acknowledged while isolated")
        #expect(report.problems == [])
        #expect(sim.acknowledgedWhileIsolated == 0, "a minority partition must not commit")
        #expect(sim.proposedWhileIsolated > 0, "the isolated leader did take writes it then could not commit")
        #expect(report.writesLost == 0)
        #expect(report.shardsOnPlacement == 16)
    }
}
