import ChorusBase
import XCTest
@testable import ChorusLocks

/// The 1-second promise, end to end on a millisecond timeline: shard leaders report every
/// 250 ms at random phases, the detector runs every 100 ms, refresh requests take a 10 ms
/// round trip and a `cancelWait` 20 ms to commit. The cycle closes at a random moment.
final class DetectionLatencyTests: XCTestCase {
    struct Outcome {
        var latencyMillis: Int?
        var named: [DeadlockVictim]
        var expected: DeadlockVictim
    }

    func simulate(size n: Int, seed: UInt64) throws -> Outcome {
        var rng = SeededRandom(seed: seed &* 1_000 &+ UInt64(n))
        var f = CycleFixture(size: n, seed: seed, closeCycle: false)
        let settings = DetectorSettings()
        var detector = try DeadlockDetector(settings: settings)
        let reportEvery = Int(settings.reportInterval.milliseconds), detectEvery = Int(settings.detectionInterval.milliseconds)
        let phases = (0..<n).map { _ in rng.below(reportEvery) }
        let detectPhase = rng.below(detectEvery)
        let formation = 300 + rng.below(500)
        var refreshes: [(at: Int, shard: Int, epoch: UInt64)] = []
        var cancels: [(at: Int, victim: DeadlockVictim)] = []
        var outcome = Outcome(latencyMillis: nil, named: [], expected: f.expectedVictim)

        func report(_ i: Int, _ t: Int) {
            detector.report(shard: f.shards[i].shard, edges: f.shards[i].table.waitEdges(), epoch: f.echoed[i], at: at(Int64(t)))
        }
        for t in 0..<3_000 {
            if t == formation { f.waitForNext(n - 1) }
            for (i, phase) in phases.enumerated() where t % reportEvery == phase { report(i, t) }
            for r in refreshes where r.at == t {
                f.echoed[r.shard] = r.epoch
                report(r.shard, t)
            }
            for c in cancels where c.at == t {
                let result = f.cancel(c.victim)
                if failures(result).contains(where: { $0.1 == .deadlock }), outcome.latencyMillis == nil {
                    outcome.latencyMillis = t - formation
                }
            }
            if t % detectEvery == detectPhase {
                let round = detector.detect(at: at(Int64(t)))
                outcome.named += round.victims
                cancels += round.victims.map { (t + 20, $0) }
                refreshes += round.refresh.map { (t + 10, Int($0) - 1, round.epoch) }
            }
        }
        return outcome
    }

    func test_cyclesOf2_3And10Sessions_acrossShards_areBrokenWithinOneSecond_byFailingTheYoungest() throws {
        var worst = 0
        for n in [2, 3, 10] {
            for seed: UInt64 in 0..<12 {
                let o = try simulate(size: n, seed: seed)
                XCTAssertEqual(o.named, [o.expected], "n \(n) seed \(seed)")
                guard let latency = o.latencyMillis else { XCTFail("n \(n) seed \(seed): never broken"); continue }
                XCTAssertLessThanOrEqual(latency, 1_000, "n \(n) seed \(seed)")
                worst = max(worst, latency)
            }
        }
        print("deadlock detection: worst latency \(worst) ms over 36 runs")
    }
}
