import Foundation
import Testing

/// Randomized simulation over many seeds. Each seed picks a
/// cluster size, loss, duplication, delays, compaction, pre-vote/check-quorum and flow
/// control settings, then runs with partitions, crashes/restarts (with only what was
/// persisted) and leadership transfers — and, for some seeds, membership changes — checking
/// the invariants after every step. A failure prints its seed.
///
/// `CHORUS_RAFT_SEEDS=N` runs N seeds (default 48); `CHORUS_RAFT_SEED=S` replays seed S.
@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let s = env["CHORUS_RAFT_SEED"].flatMap(UInt64.init) { return [s] }
        let count = env["CHORUS_RAFT_SEEDS"].flatMap(Int.init) ?? 48
        return (1...UInt64(max(1, count))).map { $0 }
    }

    @Test func randomizedRuns_keepEveryInvariant() {
        var committed = 0
        var failures: [String] = []
        for seed in Self.seeds {
            let sim = Simulation(seed: seed, options: .random(seed: seed))
            if let report = sim.run() {
                print(report)
                failures.append(report)
            }
            committed += sim.checker.committedCount
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds, first: \(failures.first ?? "")")
        #expect(committed > 50 * Self.seeds.count) // the runs did real work
    }

    @Test func sameSeed_replaysTheSameRun() {
        let a = Simulation(seed: 7, options: .random(seed: 7))
        let b = Simulation(seed: 7, options: .random(seed: 7))
        a.run()
        b.run()
        #expect(a.digest == b.digest && a.steps == b.steps)
        let c = Simulation(seed: 8, options: .random(seed: 8))
        c.run()
        #expect(c.digest != a.digest)
    }
}
