import ChorusBase
import ChorusRuntime
import Foundation
import Testing
@testable import ChorusCLI

/// `--drain-timeout` / `drain_timeout_ms`, and the `chorus shards --json` contract.
@Suite struct DrainTimeoutAndShardViewTests {
    func settings(_ args: [String], config: String? = nil) throws -> AgentSettings {
        let p = try AgentCommand.spec.parse(args)
        let file = try config.map { text throws in try AgentConfigFile.parse(text, source: "test.json") } ?? AgentConfigFile()
        return try AgentCommand.settings(from: p, file: file)
    }

    @Test func drainTimeout_defaultsTo30s_flagBeatsFile_andZeroMeansLeaveAtOnce() throws {
        #expect(try settings(["--name", "n"]).drainTimeout == .seconds(30))
        #expect(try settings(["--name", "n"], config: #"{"drain_timeout_ms": 1500}"#).drainTimeout == .milliseconds(1500))
        #expect(try settings(["--name", "n", "--drain-timeout", "0"], config: #"{"drain_timeout_ms": 1500}"#).drainTimeout == .zero)
    }

    @Test func drainTimeout_outOfRange_isAUsageError() {
        #expect(throws: UsageError.self) { try settings(["--name", "n", "--drain-timeout", "-1"]) }
        #expect(throws: UsageError.self) { try settings(["--name", "n", "--drain-timeout", "3600001"]) }
    }

    @Test func shardView_json_hasTheDocumentedFields_withLeaderNullWhenUnknown() throws {
        let views = [ShardView(shard: 3, replicas: ["a", "b", "c"], learners: [], leader: nil, term: 0, commitIndex: 0,
                               appliedIndex: 0, reportedBy: nil),
                     ShardView(shard: 4, replicas: ["a"], learners: ["d"], leader: "a", term: 2, commitIndex: 9,
                               appliedIndex: 8, reportedBy: "a")]
        let data = try JSONEncoder().encode(views)
        let objects = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        for key in ["shard", "replicas", "leader", "term", "commit_index", "applied_index"] {
            #expect(objects.allSatisfy { $0.keys.contains(key) }, "\(key)")
        }
        #expect(objects[0]["leader"] is NSNull, "an unknown leader is null, not absent")
        #expect(try JSONDecoder().decode([ShardView].self, from: data) == views)
        #expect(ShardsCommand.table(views).contains("1/2 shards have a leader"))
    }
}
