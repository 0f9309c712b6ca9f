import Foundation
import ChorusRuntime

/// `chorus shards`: every shard's replicas, leader, term and indices, as the cluster reports
/// them (the agent asks every member and keeps each shard's leader's report).
enum ShardsCommand {
    static let spec = CommandSpec(
        name: "shards",
        summary: "Show every shard: replicas, leader, term, commit and applied index.",
        usage: "chorus shards [--json] [--local] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print a JSON array of objects: shard, replicas, learners, leader (null when none), term, commit_index, applied_index, reported_by."),
            .init("--local", help: "Only the replicas hosted by the agent asked (no fan-out to other members)."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ],
        details: """
        A shard no live member reports (all its replicas are down) is listed with its placement
        and no leader.
        """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus shards takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let response = try client.call(.get, p.flag("--local") ? "/v1/shards?local=1" : "/v1/shards")
        let views: [ShardView]
        do { views = try response.decodeJSON([ShardView].self) } catch {
            throw CommandFailure("agent at \(client.address) sent a shard list that cannot be read")
        }
        if p.flag("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(views) else { throw CommandFailure("cannot encode the shard list") }
            print(String(decoding: data, as: UTF8.self))
            return 0
        }
        print(table(views))
        return 0
    }

    static func table(_ views: [ShardView]) -> String {
        var t = TextTable(["SHARD", "LEADER", "REPLICAS", "TERM", "COMMIT", "APPLIED"])
        for v in views {
            let replicas = v.replicas.joined(separator: ",") + (v.learners.isEmpty ? "" : " +" + v.learners.joined(separator: ",+"))
            t.append([String(v.shard), v.leader ?? "-", replicas, String(v.term), String(v.commitIndex), String(v.appliedIndex)])
        }
        let led = views.filter { $0.leader != nil }.count
        return t.text + "\n\(led)/\(views.count) shards have a leader"
    }
}
