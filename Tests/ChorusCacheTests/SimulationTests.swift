import ChorusBase
import Testing
@testable import ChorusCache

/// Whole runs of N controllers and a home under loss, duplication, reordering, a crash and
/// restart, and a home that dies between a write-through and its invalidations; the checker
/// watches single-writer/multiple-reader at every instant and linearizable reads per key.
@Suite struct SimulationTests {
    @Test(arguments: UInt64(1)...100)
    func seed_withLossCrashAndHomeFailure_keepsSingleWriterAndLinearizableReads(seed: UInt64) {
        let report = CacheSimulation.run(CacheSimConfig(seed: seed))
        #expect(report.violations.isEmpty, "\(report)\n\(report.violations.joined(separator: "\n"))\nreplay: \(report.replay)")
        #expect(report.homeFailures == 1 && report.crashes == 1, "\(report)")
        #expect(report.reads > 50 && report.writes > 20, "\(report)")
    }

    enum Variant: String, CaseIterable, Sendable {
        case evictions, heavyLoss, sevenNodes, noExclusive, oneHotKey
        func config(_ seed: UInt64) -> CacheSimConfig {
            var c = CacheSimConfig(seed: seed &* 7_919)
            switch self {
            case .evictions: c.keys = 24; c.nodes = 5; c.settings.maxBytes = 700
            case .heavyLoss: c.lossRate = 0.25; c.duplicateRate = 0.2; c.crashes = 3
            case .sevenNodes: c.nodes = 7; c.keys = 6; c.clientsPerNode = 3; c.crashes = 3; c.homeFailureAtWrite = 5
            case .noExclusive: c.settings.grantExclusive = false; c.writeShare = 0.6
            case .oneHotKey: c.keys = 1; c.clientsPerNode = 4; c.lossRate = 0.1
            }
            return c
        }
    }

    @Test(arguments: Variant.allCases)
    func variant_eightSeeds_keepSingleWriterAndLinearizableReads(variant: Variant) {
        for seed in UInt64(1)...8 {
            let config = variant.config(seed)
            let report = CacheSimulation.run(config)
            #expect(report.violations.isEmpty,
                    "\(variant) \(report)\n\(report.violations.joined(separator: "\n"))")
        }
    }

    @Test func evictionVariant_reallyEvicts() {
        var sim = CacheSimulation(Variant.evictions.config(1))
        sim.runToEnd()
        #expect(sim.nodes.map(\.controller.metrics.evictions).reduce(0, +) > 10)
    }

    @Test func plantedBug_homeThatSkipsOneInvAck_isCaughtInEverySeed() {
        var caught: [UInt64] = []
        for seed in UInt64(1)...20 {
            var config = CacheSimConfig(seed: seed)
            config.settings.plantedBug = true
            config.stopAtFirstViolation = true
            if !CacheSimulation.run(config).violations.isEmpty { caught.append(seed) }
        }
        #expect(caught == Array(1...20))
    }

    @Test func sameSeed_replaysTheSameRun() {
        let a = CacheSimulation.run(CacheSimConfig(seed: 42))
        let b = CacheSimulation.run(CacheSimConfig(seed: 42))
        let c = CacheSimulation.run(CacheSimConfig(seed: 43))
        #expect(a.digest == b.digest && a.events == b.events && a.messages == b.messages)
        #expect(a.digest != c.digest)
    }
}
