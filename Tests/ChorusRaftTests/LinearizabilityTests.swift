import enum ChorusSim.Linearizability
import Foundation
import Testing

/// Linearizability: a key-value register on one Raft group, driven by concurrent
/// simulated clients under partitions, loss, reordering and crashes; every history must be
/// linearizable. The same clients with reads served without ReadIndex must be caught.
@Suite struct LinearizabilityTests {
    static func options(seed: UInt64, reads: Simulation.ReadMode) -> Simulation.Options {
        var o = Simulation.Options.random(seed: seed)
        o.clients = 5
        o.keys = 3
        o.reads = reads
        o.proposalEveryMicros = 0 // only the clients write
        o.membershipChanges = false
        o.spares = 0
        o.faultyMicros = 2_000_000
        o.quietMicros = o.settings.preVote ? 1_000_000 : 3_000_000
        return o
    }

    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let s = env["CHORUS_RAFT_SEED"].flatMap(UInt64.init) { return [s] }
        let count = env["CHORUS_RAFT_SEEDS"].flatMap(Int.init).map { max(1, $0 / 4) } ?? 12
        return (1...UInt64(count)).map { 1_000 + $0 }
    }

    @Test func readIndexReads_underFaults_areLinearizable() {
        var checked = 0
        for seed in Self.seeds {
            let sim = Simulation(seed: seed, options: Self.options(seed: seed, reads: .readIndex))
            if let report = sim.run() { Issue.record("\(report)"); continue }
            let verdict = Linearizability.check(sim.history)
            let completed = sim.history.filter { !$0.discarded && $0.returned != .max }
            checked += completed.count
            #expect(verdict == .linearizable, "seed=\(seed) replay with CHORUS_RAFT_SEED=\(seed): \(verdict) [\(sim.options)]")
        }
        #expect(checked > 100 * Self.seeds.count) // enough completed operations to mean something
    }

    /// The checker bites: a node answering reads from its own state machine (no ReadIndex)
    /// returns stale values, and some seed shows it.
    @Test func localReads_areCaughtByTheChecker() {
        #expect(firstCaught(.localReads) != nil)
    }

    /// The checker bites: a leader answering without confirming its leadership (and without
    /// waiting for an entry of its term to commit) serves stale reads after a leader change.
    @Test func leaderReadsWithoutConfirmation_areCaughtByTheChecker() {
        #expect(firstCaught(.leaderLocalReads) != nil)
    }

    private func firstCaught(_ mode: Simulation.ReadMode) -> UInt64? {
        for seed in (1...40).map({ 2_000 + UInt64($0) }) {
            let sim = Simulation(seed: seed, options: Self.options(seed: seed, reads: mode))
            sim.run()
            if case .violation = Linearizability.check(sim.history) { return seed }
        }
        return nil
    }
}
