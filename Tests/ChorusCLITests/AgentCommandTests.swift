import ChorusBase
import ChorusMembership
import ChorusRuntime
import Testing
@testable import ChorusCLI

@Suite struct AgentCommandTests {
    func settings(_ args: [String], config: String? = nil) throws -> AgentSettings {
        let p = try AgentCommand.spec.parse(args)
        let file = try config.map { text throws in try AgentConfigFile.parse(text, source: "test.json") } ?? AgentConfigFile()
        return try AgentCommand.settings(from: p, file: file)
    }

    @Test func defaults_matchTheDocumentedPorts() throws {
        let s = try settings(["--name", "n1"])
        #expect(s.bind == Endpoint(parsing: "127.0.0.1:7946"))
        #expect(s.api == Endpoint(parsing: "127.0.0.1:7947"))
        #expect(s.seeds.isEmpty)
        #expect(s.membership.cluster == ClusterID.from(name: "chorus"))
    }

    @Test func queueBodies_areOnDiskByDefault_andInMemoryByFlagOrConfig() throws {
        #expect(try settings(["--name", "n1"]).queueBodiesOnDisk)
        #expect(try settings(["--name", "n1", "--queue-bodies-on-disk"]).queueBodiesOnDisk)
        #expect(try !settings(["--name", "n1", "--queue-bodies-in-memory"]).queueBodiesOnDisk)
        #expect(try !settings(["--name", "n1"], config: #"{"queue_bodies_on_disk": false}"#).queueBodiesOnDisk)
        #expect(try settings(["--name", "n1", "--queue-bodies-on-disk"], config: #"{"queue_bodies_on_disk": false}"#).queueBodiesOnDisk)
        #expect(throws: UsageError.self) { try settings(["--name", "n1", "--queue-bodies-on-disk", "--queue-bodies-in-memory"]) }
    }

    @Test func flags_overrideTheConfigFile() throws {
        let config = #"{"name": "file", "bind": "127.0.0.1:9001", "api": "127.0.0.1:9002", "seeds": ["127.0.0.1:9100"], "tags": {"a": "1", "b": "2"}, "cluster": "file-cluster", "probe_interval_ms": 700}"#
        let s = try settings(["--name", "flag", "--seed", "127.0.0.1:9200", "--tag", "b=3", "--cluster", "blue", "--advertise", "10.0.0.5:9001"], config: config)
        #expect(s.name == "flag")
        #expect(s.bind == Endpoint(parsing: "127.0.0.1:9001"))
        #expect(s.api == Endpoint(parsing: "127.0.0.1:9002"))
        #expect(s.seeds == ["127.0.0.1:9200"])
        #expect(s.tags == (try Tags(["a": "1", "b": "3"])))
        #expect(s.clusterName == "blue")
        #expect(s.membership.cluster == ClusterID.from(name: "blue"))
        #expect(s.membership.probeInterval == .milliseconds(700))
        #expect(s.advertise == Endpoint(parsing: "10.0.0.5:9001"))
    }

    @Test(arguments: [["--tag", "novalue"], ["--tag", "=x"], ["--seed", "nohostport"], ["--bind", "what"],
                      ["--log-level", "loud"], ["--log-format", "xml"], ["extra"], ["--bogus"]])
    func badFlags_areUsageErrors(args: [String]) {
        #expect(throws: UsageError.self) {
            let p = try AgentCommand.spec.parse(args)
            _ = try AgentCommand.logSettings(from: p, file: AgentConfigFile())
            _ = try AgentCommand.settings(from: p, file: AgentConfigFile())
            if !p.positionals.isEmpty { throw UsageError("positional") }
        }
    }

    @Test func badConfigFile_exitsNonZeroWithOneLine() throws {
        let dir = NSTemporaryDirectory() + "chorus-cli-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.json"
        try #"{"probe_intervall_ms": 100}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(Chorus.main(["chorus", "agent", "--config", path]) == 1)
        #expect(Chorus.main(["chorus", "agent", "--config", dir + "/missing.json"]) == 1)
    }
}

import Foundation
