import ChorusBase
import Foundation
import Testing
@testable import ChorusSim

@Suite struct ScenarioTests {
    static let full = """
    {
      "name": "crash-tenth", "description": "10% of nodes crash at 30 s",
      "nodes": 100, "duration_seconds": 120, "seed": 42,
      "network": {"latency": {"kind": "lognormal", "median_ms": 2, "sigma": 0.5, "base_ms": 0.2},
                  "loss": 0.01, "duplication": 0.001, "reorder": 0.01, "reorder_span_ms": 15},
      "join": {"mode": "all_known", "spread_seconds": 5, "seeds": [0, 1]},
      "actions": [
        {"at": 30, "kind": "crash", "fraction": 0.1},
        {"at": 40, "kind": "partition", "groups": [[0, 1, 2], [3, 4]]},
        {"at": 45, "kind": "cut", "from": [5], "to": [6, 7]},
        {"at": 50, "kind": "heal"},
        {"at": 60, "kind": "slow", "nodes": [7], "extra_latency_ms": 300, "until": 90},
        {"at": 70, "kind": "loss", "value": 0.05},
        {"at": 20, "kind": "restart", "nodes": [8]},
        {"at": 100, "kind": "leave", "nodes": [9, 10]}
      ]
    }
    """

    private func decode(_ json: String) throws(SimSettingError) -> Scenario {
        try Scenario.decode(data: Data(json.utf8))
    }

    /// The error a JSON text gives, or nil if it decodes.
    private func failure(_ json: String) -> SimSettingError? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return error
        }
    }

    private func minimal(_ extra: String) -> String {
        "{\"name\": \"t\", \"nodes\": 10, \"duration_seconds\": 60\(extra.isEmpty ? "" : ", " + extra)}"
    }

    @Test func decodesEveryField() throws {
        let scenario = try decode(ScenarioTests.full)
        #expect(scenario.name == "crash-tenth" && scenario.nodes == 100 && scenario.seed == 42)
        #expect(scenario.duration == .seconds(120 as Int64))
        #expect(scenario.network.latency == LatencyModel.lognormal(median: .milliseconds(2), sigma: 0.5).adding(base: .microseconds(200)))
        #expect(scenario.network.model.loss == 0.01 && scenario.network.model.reorderSpan == .milliseconds(15))
        #expect(scenario.join == ScenarioJoin(mode: .allKnown, spreadSeconds: 5, seeds: [SimNodeID(0), SimNodeID(1)]))
        #expect(scenario.actions.count == 8)
        #expect(scenario.actions[0].action == .crash(.fraction(0.1)))
        #expect(scenario.actions[1].action == .partition(groups: [[0, 1, 2], [3, 4]].map { $0.map { SimNodeID($0) } }))
        #expect(scenario.actions[2].action == .cut(from: [SimNodeID(5)], to: [SimNodeID(6), SimNodeID(7)]))
        #expect(scenario.actions[3].action == .heal)
        #expect(scenario.actions[4].action == .slow(.nodes([SimNodeID(7)]), extraLatency: .milliseconds(300), until: 90))
        #expect(scenario.actions[5].action == .loss(0.05))
        #expect(scenario.actions[7].action == .leave(.nodes([SimNodeID(9), SimNodeID(10)])))
        #expect(scenario.actionsInTimeOrder.map(\.at) == [20, 30, 40, 45, 50, 60, 70, 100])
        #expect(scenario.actions[4].time == Instant(nanoseconds: 60_000_000_000))
    }

    @Test func defaults_fillOptionalSections() throws {
        let scenario = try decode(minimal(""))
        #expect(scenario.description == "" && scenario.seed == 1 && scenario.actions.isEmpty)
        #expect(scenario.network == ScenarioNetwork())
        #expect(scenario.join == ScenarioJoin())
    }

    @Test(arguments: ["constant", "uniform", "normal", "lognormal", "pareto"])
    func latencyKinds_decodeAndRoundTrip(kind: String) throws {
        let params = ["constant": "\"ms\": 3", "uniform": "\"low_ms\": 1, \"high_ms\": 4", "normal": "\"mean_ms\": 5, \"stddev_ms\": 1",
                      "lognormal": "\"median_ms\": 2, \"sigma\": 0.4", "pareto": "\"minimum_ms\": 1, \"shape\": 1.5"][kind]!
        let scenario = try decode(minimal("\"network\": {\"latency\": {\"kind\": \"\(kind)\", \(params)}}"))
        #expect(try Scenario.decode(data: scenario.jsonData()) == scenario)
    }

    @Test func roundTrips_throughJSON() throws {
        let scenario = try decode(ScenarioTests.full)
        let data = try scenario.jsonData()
        #expect(try Scenario.decode(data: data) == scenario)
        #expect(try scenario.jsonData() == data)
    }

    @Test func loadsFromAFile_andReportsAMissingFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-scenario-\(getpid()).json").path
        try Data(ScenarioTests.full.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Scenario.load(path: path).name == "crash-tenth")
        #expect(throws: SimSettingError.self) { try Scenario.load(path: path + ".missing") }
    }

    /// Each bad input and the field its error must name.
    static let refused: [(json: String, field: String)] = [
        ("not json", ""),
        ("[1, 2]", ""),
        ("{\"nodes\": 10, \"duration_seconds\": 60}", "name"),
        ("{\"name\": \"t\", \"duration_seconds\": 60}", "nodes"),
        ("{\"name\": \"t\", \"nodes\": 10}", "duration_seconds"),
        ("{\"name\": \"t\", \"nodes\": \"ten\", \"duration_seconds\": 60}", "nodes"),
        ("{\"name\": \"t\", \"nodes\": 0, \"duration_seconds\": 60}", "nodes"),
        ("{\"name\": \"t\", \"nodes\": 10, \"duration_seconds\": -1}", "duration_seconds"),
        ("{\"name\": \"t\", \"nodes\": 10, \"duration_seconds\": 1e300}", "duration_seconds"),
        ("{\"name\": \"t\", \"nodes\": 10, \"duration_seconds\": 60, \"seed\": -4}", "seed"),
        ("{\"name\": \"t\", \"nodes\": 10, \"duration_seconds\": 60, \"duraton\": 5}", "duraton"),
    ]

    @Test func refusesBadTopLevels_namingTheField() {
        for (json, field) in ScenarioTests.refused {
            let error = failure(json)
            #expect(error?.field == field, "\(json) gave \(String(describing: error))")
        }
    }

    @Test func refusesBadSections_namingTheField() {
        let cases: [(String, String)] = [
            ("\"network\": {\"loss\": 1.5}", "network.loss"),
            ("\"network\": {\"duplication\": -0.1}", "network.duplication"),
            ("\"network\": {\"reorder_span_ms\": -3}", "network.reorder_span_ms"),
            ("\"network\": {\"latency\": {\"kind\": \"warp\"}}", "network.latency.kind"),
            ("\"network\": {\"latency\": {\"kind\": \"uniform\", \"low_ms\": 5, \"high_ms\": 1}}", "network.latency.high_ms"),
            ("\"network\": {\"latency\": {\"kind\": \"constant\", \"ms\": 1, \"sigma\": 2}}", "network.latency.sigma"),
            ("\"network\": {\"latency\": {\"kind\": \"pareto\", \"minimum_ms\": 1, \"shape\": 0}}", "network.latency.shape"),
            ("\"network\": {\"latency\": {\"kind\": \"lognormal\", \"median_ms\": 1}}", "network.latency.sigma"),
            ("\"network\": {\"latency\": {\"kind\": \"constant\", \"ms\": 1e300}}", "network.latency.ms"),
            ("\"join\": {\"mode\": \"gossip\"}", "join.mode"),
            ("\"join\": {\"spread_seconds\": 61}", "join.spread_seconds"),
            ("\"join\": {\"seeds\": [10]}", "join.seeds[0]"),
            ("\"join\": {\"seeds\": []}", "join.seeds"),
            ("\"actions\": {}", "actions"),
            ("\"actions\": [{\"kind\": \"crash\", \"nodes\": [1]}]", "actions[0].at"),
            ("\"actions\": [{\"at\": 61, \"kind\": \"crash\", \"nodes\": [1]}]", "actions[0].at"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"explode\"}]", "actions[0].kind"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"heal\"}, {\"at\": 1, \"kind\": \"crash\", \"nodes\": [1, 10]}]", "actions[1].nodes[1]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [-1]}]", "actions[0].nodes[0]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [1, 1]}]", "actions[0].nodes[1]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": []}]", "actions[0].nodes"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"crash\"}]", "actions[0].nodes"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [1], \"fraction\": 0.5}]", "actions[0].nodes"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"restart\", \"fraction\": 2}]", "actions[0].fraction"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"leave\", \"nodes\": [1], \"value\": 1}]", "actions[0].value"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"partition\", \"groups\": [[1, 2], [2, 3]]}]", "actions[0].groups[1][0]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"partition\", \"groups\": [[1], []]}]", "actions[0].groups[1]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"partition\", \"groups\": [[1], \"x\"]}]", "actions[0].groups[1]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"cut\", \"from\": [1]}]", "actions[0].to"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"cut\", \"from\": [1], \"to\": [99]}]", "actions[0].to[0]"),
            ("\"actions\": [{\"at\": 1, \"kind\": \"slow\", \"nodes\": [1]}]", "actions[0].extra_latency_ms"),
            ("\"actions\": [{\"at\": 5, \"kind\": \"slow\", \"nodes\": [1], \"extra_latency_ms\": 100, \"until\": 4}]", "actions[0].until"),
            ("\"actions\": [{\"at\": 5, \"kind\": \"loss\", \"value\": 1.01}]", "actions[0].value"),
            ("\"actions\": [{\"at\": 5, \"kind\": \"loss\"}]", "actions[0].value"),
            ("\"actions\": [{\"at\": \"soon\", \"kind\": \"heal\"}]", "actions[0].at"),
        ]
        for (extra, field) in cases {
            let error = failure(minimal(extra))
            #expect(error?.field == field, "\(extra) gave \(String(describing: error))")
            #expect(error.map { !$0.message.isEmpty } ?? false)
        }
    }

    @Test func tooManyCutsInForce_isRefused_butHealResets() {
        let cut = "{\"at\": 1, \"kind\": \"cut\", \"from\": [1], \"to\": [2]}"
        let many = Array(repeating: cut, count: Partition.maximumCuts + 1)
        #expect(failure(minimal("\"actions\": [\(many.joined(separator: ","))]"))?.field == "actions[\(Partition.maximumCuts)]")
        var healed = many
        healed.insert("{\"at\": 1, \"kind\": \"heal\"}", at: 10)
        #expect(failure(minimal("\"actions\": [\(healed.joined(separator: ","))]")) == nil)
    }

    @Test func errorMessages_readWell() {
        #expect(failure(minimal("\"network\": {\"lose\": 0.1}"))?.description
                == "network.lose: unknown field (expected one of: latency, loss, duplication, reorder, reorder_span_ms)")
        #expect(failure(minimal("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [10]}]"))?.description
                == "actions[0].nodes[0]: node id 10 is out of range 0..<10")
        #expect(failure("{")?.message.hasPrefix("not valid JSON") == true)
        #expect(failure("[1]")?.message.hasPrefix("expected an object") == true)
    }

    @Test func fractionSelection_isDeterministicAndSorted() {
        let candidates = (0..<100).map { SimNodeID($0) }
        var a = SeededRandom(seed: 9), b = SeededRandom(seed: 9)
        let first = NodeSelection.fraction(0.1).resolve(among: candidates, using: &a)
        #expect(first == NodeSelection.fraction(0.1).resolve(among: candidates, using: &b))
        #expect(first.count == 10 && first == first.sorted() && Set(first).count == 10)
        #expect(NodeSelection.fraction(1).resolve(among: candidates, using: &a) == candidates)
        #expect(NodeSelection.fraction(0.5).resolve(among: [], using: &a).isEmpty)
        #expect(NodeSelection.nodes([SimNodeID(3)]).resolve(among: [], using: &a) == [SimNodeID(3)])
    }
}

extension ScenarioTests {
    @Test func unrepresentableNumbers_nameTheirField() {
        #expect(failure(minimal("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [1, 2.5]}]"))?.field == "actions[0].nodes[1]")
        #expect(failure(minimal("\"actions\": [{\"at\": 1, \"kind\": \"crash\", \"nodes\": [1e12]}]"))?.field == "actions[0].nodes[0]")
        #expect(failure("{\"name\": \"t\", \"nodes\": 2.5, \"duration_seconds\": 60}")?.field == "nodes")
        #expect(failure(minimal("\"seed\": 18446744073709551615")) == nil)
    }
}
