import ChorusBase
import ChorusRuntime

/// Whether a dev cluster is ready, from its nodes' APIs: every node lists every node alive,
/// and every shard (as node1 reports them) has a leader and as many replicas as the
/// replication factor allows, with no learners left — and the leaders have stopped moving:
/// right after the groups fill up, each leader hands leadership to its placement's first
/// replica, and a client's first write would meet those moves.
enum DevReadiness {
    /// How long every shard's leader must stay the same before the cluster counts as ready.
    static let settleTime = Interval.seconds(1)

    /// The shards' leaders as last seen, and since when they have been those.
    struct LeaderWatch {
        var leaders: [Int: String] = [:]
        var since: Instant = .zero

        /// Takes in the leaders seen at `now`; true once they have been the same for
        /// `settleTime`.
        mutating func settled(_ seen: [Int: String], at now: Instant) -> Bool {
            if seen != leaders || leaders.isEmpty {
                leaders = seen
                since = now
                return false
            }
            return now - since >= DevReadiness.settleTime
        }
    }

    enum Verdict: Equatable {
        case ready(shards: Int)
        case waiting(String)
    }

    /// The verdict, and each shard's leader as node1 reports it (empty until it reports).
    static func check(_ nodes: [DevCommand.Node]) -> (verdict: Verdict, leaders: [Int: String]) {
        var leaders: [Int: String] = [:]
        let verdict = check(nodes, leaders: &leaders)
        return (verdict, leaders)
    }

    private static func check(_ nodes: [DevCommand.Node], leaders: inout [Int: String]) -> Verdict {
        let names = nodes.map(\.name)
        for node in nodes {
            let client = AgentClient(address: node.api)
            guard let response = try? client.call(.get, "/v1/members", timeout: .seconds(2)),
                  let members = try? response.decodeJSON([MemberView].self) else { return .waiting("\(node.name) does not answer yet") }
            if let verdict = membersVerdict(members, expected: names, observer: node.name) { return verdict }
        }
        let client = AgentClient(address: nodes[0].api)
        guard let info = try? client.object(try client.call(.get, "/v1/info", timeout: .seconds(2))),
              let replicas = info["settings"]?.objectValue?["replicas"]?.intValue else { return .waiting("node1 does not report its settings") }
        guard let response = try? client.call(.get, "/v1/shards", timeout: .seconds(5)),
              let shards = try? response.decodeJSON([ShardView].self) else { return .waiting("node1 does not report the shards yet") }
        for shard in shards { if let leader = shard.leader { leaders[shard.shard] = leader } }
        return shardsVerdict(shards, replicas: min(replicas, nodes.count))
    }

    /// Nil when `observer` lists exactly `expected`, all alive.
    static func membersVerdict(_ members: [MemberView], expected: [String], observer: String) -> Verdict? {
        let alive = Set(members.filter { $0.status == "alive" }.map(\.name))
        let missing = expected.filter { !alive.contains($0) }
        if missing.isEmpty { return nil }
        return .waiting("\(observer) does not see \(missing.joined(separator: ", ")) alive yet")
    }

    static func shardsVerdict(_ shards: [ShardView], replicas: Int) -> Verdict {
        if shards.isEmpty { return .waiting("no shards yet") }
        let leaderless = shards.filter { $0.leader == nil }.count
        if leaderless > 0 { return .waiting("\(leaderless) of \(shards.count) shards have no leader yet") }
        let unplaced = shards.filter { $0.replicas.count < replicas || !$0.learners.isEmpty }.count
        if unplaced > 0 { return .waiting("\(unplaced) of \(shards.count) shards do not have their \(replicas) replicas yet") }
        return .ready(shards: shards.count)
    }
}
