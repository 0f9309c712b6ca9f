import ChorusBase
import Foundation
import Testing
@testable import ChorusCache

@Suite struct SimulationTests {
    @Test func stress_print() {
        let env = ProcessInfo.processInfo.environment
        func variant(_ seed: UInt64) -> CacheSimConfig {
            var c = CacheSimConfig(seed: seed)
            switch env["VARIANT"] ?? "evict" {
            case "evict": c.keys = 24; c.settings.maxBytes = 700; c.nodes = 5
            case "lossy": c.lossRate = 0.25; c.duplicateRate = 0.2; c.crashes = 3
            case "big": c.nodes = 7; c.keys = 6; c.clientsPerNode = 3; c.crashes = 3; c.homeFailureAtWrite = 5
            case "noE": c.settings.grantExclusive = false; c.writeShare = 0.6
            case "hot": c.keys = 1; c.clientsPerNode = 4; c.lossRate = 0.1
            case "wide": c.keys = 8; c.clientsPerNode = 6
            case "fast": c.failoverAfter = .milliseconds(10)
            default: break
            }
            return c
        }
        if let s = env["SEED"], let seed = UInt64(s) {
            var sim = CacheSimulation(variant(seed))
            sim.traceKey = CacheKey(env["KEY"] ?? "k0")
            sim.runToEnd()
            let until = env["UNTIL"] ?? "9"
            for line in sim.trace where line < until { print(line) }
            print(sim.report)
            for v in sim.report.violations.prefix(3) { print("  ", v) }
            return
        }
        var bad = 0
        var totals = CacheSimReport(seed: 0)
        for seed in UInt64(1)...UInt64(env["N"].flatMap { Int($0) } ?? 100) {
            let r = CacheSimulation.run(variant(seed))
            if !r.violations.isEmpty { bad += 1; if bad < 6 { print(r) } }
            totals.reads += r.reads; totals.writes += r.writes; totals.hits += r.hits; totals.misses += r.misses
            totals.crashes += r.crashes; totals.homeFailures += r.homeFailures; totals.unknownWrites += r.unknownWrites
        }
        print("bad seeds: \(bad); totals \(totals)")
    }
}
