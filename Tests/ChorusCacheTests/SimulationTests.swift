import ChorusBase
import Foundation
import Testing
@testable import ChorusCache

@Suite struct SimulationTests {
    @Test func oneSeed_print() {
        let env = ProcessInfo.processInfo.environment
        if let s = env["SEED"], let seed = UInt64(s) {
            var config = CacheSimConfig(seed: seed)
            config.settings.plantedBug = env["BUG"] != nil
            var sim = CacheSimulation(config)
            sim.traceKey = CacheKey(env["KEY"] ?? "k0")
            sim.runToEnd()
            let until = env["UNTIL"] ?? "9"
            for line in sim.trace where line < until { print(line) }
            print(sim.report)
            for v in sim.report.violations.prefix(3) { print("  ", v) }
            return
        }
        var bad = 0, caught = 0, hf = 0
        let t0 = Date()
        for seed in UInt64(1)...100 {
            let r = CacheSimulation.run(CacheSimConfig(seed: seed))
            if !r.violations.isEmpty { bad += 1; print(r) }
            hf += r.homeFailures
        }
        let t1 = Date()
        for seed in UInt64(1)...100 {
            var config = CacheSimConfig(seed: seed)
            config.settings.plantedBug = true
            config.stopAtFirstViolation = true
            let r = CacheSimulation.run(config)
            if !r.violations.isEmpty { caught += 1 }
        }
        print("bad seeds: \(bad), home failures \(hf), planted caught \(caught)/100, clean 100 in \(t1.timeIntervalSince(t0))s, bug 100 in \(Date().timeIntervalSince(t1))s")
    }
}
