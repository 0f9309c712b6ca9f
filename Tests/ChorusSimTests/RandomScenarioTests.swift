import Foundation
import Testing
import ChorusBase
@testable import ChorusSim

/// Random values in every scenario field: each file is refused with a named field, or it
/// runs (small ones are run for real) without a trap.
@Suite struct RandomScenarioTests {
    static let nasty: [String] = ["0", "-1", "1e-7", "0.5", "1", "3", "17", "1e10", "1e300", "-1e300", "4294967296",
                                  "9223372036854775807", "18446744073709551616", "\"x\"", "null", "[]", "1.5", "1000000"]

    /// A value for a field: usually a plausible `normal`, sometimes a nasty one.
    static func value(_ normal: String, _ rng: inout SeededRandom) -> String {
        rng.below(7) == 0 ? nasty[rng.below(nasty.count)] : normal
    }

    static func scenario(_ rng: inout SeededRandom) -> String {
        func v(_ normal: String) -> String { value(normal, &rng) }
        let latency: String
        switch rng.below(5) {
        case 0: latency = #"{"kind": "constant", "ms": \#(v("1"))}"#
        case 1: latency = #"{"kind": "uniform", "low_ms": \#(v("1")), "high_ms": \#(v("3"))}"#
        case 2: latency = #"{"kind": "normal", "mean_ms": \#(v("2")), "stddev_ms": \#(v("1"))}"#
        case 3: latency = #"{"kind": "lognormal", "median_ms": \#(v("2")), "sigma": \#(v("0.5")), "base_ms": \#(v("0.2"))}"#
        default: latency = #"{"kind": "pareto", "minimum_ms": \#(v("1")), "shape": \#(v("2"))}"#
        }
        let kinds = [
            #"{"at": \#(v("3")), "kind": "crash", "fraction": \#(v("0.2"))}"#,
            #"{"at": \#(v("4")), "kind": "restart", "nodes": [\#(v("1"))]}"#,
            #"{"at": \#(v("2")), "kind": "leave", "nodes": [\#(v("2"))]}"#,
            #"{"at": \#(v("2")), "kind": "partition", "groups": [[\#(v("0"))], [\#(v("3"))]]}"#,
            #"{"at": \#(v("2")), "kind": "cut", "from": [\#(v("1"))], "to": [\#(v("2"))]}"#,
            #"{"at": \#(v("5")), "kind": "heal"}"#,
            #"{"at": \#(v("1")), "kind": "slow", "nodes": [\#(v("3"))], "extra_latency_ms": \#(v("300")), "until": \#(v("4"))}"#,
            #"{"at": \#(v("1")), "kind": "loss", "value": \#(v("0.05"))}"#,
        ]
        let actions = (0..<rng.below(4)).map { _ in kinds[rng.below(kinds.count)] }.joined(separator: ", ")
        return #"""
        {"name": "random", "nodes": \#(v("6")), "duration_seconds": \#(v("6")), "seed": \#(v("3")),
         "network": {"latency": \#(latency), "loss": \#(v("0.01")), "duplication": \#(v("0")), "reorder": \#(v("0")),
                     "reorder_span_ms": \#(v("20"))},
         "join": {"mode": "seed", "spread_seconds": \#(v("1")), "seeds": [\#(v("0"))]},
         "actions": [\#(actions)]}
        """#
    }

    @Test func randomScenarioFields_areRefusedByName_orRun() {
        var rng = SeededRandom(seed: 14)
        var refused = 0, ran = 0
        for _ in 0..<400 {
            let text = Self.scenario(&rng)
            do {
                let scenario = try Scenario.decode(data: Data(text.utf8))
                let config = try ClusterConfig(scenario: scenario)
                guard config.nodes <= 12 && config.duration <= .seconds(12) else { continue }
                var sim = ClusterSimulation(config)
                _ = sim.run()
                ran += 1
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(refused > 50 && ran > 10, "refused \(refused), ran \(ran)")
    }
}
