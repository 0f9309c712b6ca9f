import ChorusBase
import ChorusMembership
import Foundation
import Testing
@testable import ChorusCLI

@Suite struct AgentConfigFileTests {

    @Test func commentsAndProtocolKeys_areAccepted() throws {
        let text = """
        // A comment line.
        {
          "_comment": "ignored",
          "name": "n1",
            // indented comment
          "bind": "127.0.0.1:8001",
          "seeds": ["127.0.0.1:8002", "localhost:8003"],
          "tags": {"role": "web"},
          "cluster": "blue",
          "probe_interval_ms": 500,
          "probe_timeout_ms": 250.5,
          "suspicion_multiplier": 3,
          "gossip_fanout": 4,
          "detector": "fixed",
          "max_datagram_bytes": 9000
        }
        """
        let c = try AgentConfigFile.parse(text, source: "test.json")
        #expect(c.name == "n1")
        #expect(c.seeds == ["127.0.0.1:8002", "localhost:8003"])
        #expect(c.tags == ["role": "web"])
        #expect(c.membership.probeInterval == .milliseconds(500))
        #expect(c.membership.probeTimeout == .microseconds(250_500))
        #expect(c.membership.suspicionMultiplier == 3)
        #expect(c.membership.gossipFanout == 4)
        #expect(c.membership.detector == .fixedTimeout)
        #expect(c.maxDatagramBytes == 9000)
    }

    @Test(arguments: [
        (#"{"nmae": "x"}"#, #"unknown key "nmae""#),
        (#"{"name": 5}"#, "name must be a string"),
        (#"{"seeds": "127.0.0.1:1"}"#, "seeds must be an array"),
        (#"{"tags": {"a": 1}}"#, #"tag "a" must have a string value"#),
        (#"{"probe_interval_ms": -1}"#, "probe_interval_ms must be a positive number"),
        (#"{"probe_interval_ms": "1s"}"#, "probe_interval_ms must be a positive number"),
        (#"{"gossip_fanout": 1.5}"#, "gossip_fanout must be a non-negative integer"),
        (#"{"probe_interval_ms": 100, "probe_timeout_ms": 500}"#, "probe_timeout"),
        (#"{"detector": "magic"}"#, "detector must be"),
        (#"["not", "an", "object"]"#, "must hold one JSON object"),
        (#"{"name": "n1""#, "not valid JSON"),
    ])
    func badConfig_failsNamingTheFileAndTheKey(text: String, expected: String) {
        do {
            _ = try AgentConfigFile.parse(text, source: "bad.json")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.hasPrefix("config file bad.json: "), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func missingFile_isAOneLineError() {
        #expect(throws: CommandFailure.self) { try AgentConfigFile.load(path: "/nonexistent/chorus.json") }
    }

    /// Every agent config in config/ (the Grafana dashboard there is not one).
    @Test func shippedExamples_parseAndValidate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("config").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") && !$0.contains("dashboard") }.sorted()
        #expect(files == ["cluster-node1.json", "cluster-node2.json", "cluster-node3.json", "single-node.json"])
        for f in files {
            let c = try AgentConfigFile.load(path: dir + "/" + f)
            #expect(c.name != nil, "\(f)")
            #expect(c.bind != nil, "\(f)")
        }
    }
}
