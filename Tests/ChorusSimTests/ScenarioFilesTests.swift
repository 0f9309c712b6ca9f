import Foundation
import Testing
@testable import ChorusSim

/// Every scenario shipped in `sim/` loads, validates and maps onto the cluster driver.
@Suite struct ScenarioFilesTests {
    static var simDirectory: URL {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("sim")
    }

    @Test func everyShippedScenarioLoads() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.simDirectory.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 5)
        for f in files {
            let path = Self.simDirectory.appendingPathComponent(f).path
            if let data = FileManager.default.contents(atPath: path), String(decoding: data, as: UTF8.self).contains("\"workload\"") {
                // A whole-node workload scenario: its own settings, checked for range.
                let settings = try JSONDecoder().decode(NodeLockSettings.self, from: data)
                try settings.validate()
                continue
            }
            let scenario = try Scenario.load(path: path)
            let config = try ClusterConfig(scenario: scenario)
            #expect(config.nodes == scenario.nodes, "\(f)")
        }
    }

    @Test func churnScenarioEndsConvergedWithRestartedNodesAlive() throws {
        var config = try ClusterConfig(scenario: Scenario.load(path: Self.simDirectory.appendingPathComponent("churn.json").path))
        config.nodes = 60
        var sim = ClusterSimulation(config)
        let r = sim.run()
        #expect(r.convergedAtEnd)
        for o in 0..<60 where sim.isRunning(o) {
            // A node restarted after the leave never knew n10 and is not told of its tombstone.
            #expect(sim.status(of: 10, seenBy: o).map { !$0.isLive } ?? true)
            #expect(sim.status(of: 20, seenBy: o) == .alive)
        }
    }
}
