import ChorusRuntime
import Foundation
import Glibc
import Testing

/// Real agents hosting the 64 shard groups on loopback: placement, failover and re-replication.
@Suite(.serialized) struct ShardProcessTests {

    func shards(_ node: AgentProcess, local: Bool = false) -> [ShardView]? {
        guard let r = try? HTTPClient().request(node.api, path: local ? "/v1/shards?local=1" : "/v1/shards", timeout: .seconds(5)),
              r.status == 200 else { return nil }
        return try? r.decodeJSON([ShardView].self)
    }

    /// Every shard led, with exactly `replicas` voters, all among `live`, and no learners.
    func settled(_ views: [ShardView]?, live: Set<String>, replicas: Int) -> Bool {
        guard let views, views.count == 64 else { return false }
        return views.allSatisfy { v in
            guard let leader = v.leader, live.contains(leader) else { return false }
            return v.replicas.count == replicas && v.learners.isEmpty && v.replicas.allSatisfy(live.contains)
        }
    }

    @Test func fiveAgents_everyShardLed_killNineTwice_reReplicated_restartCatchesUp() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("s1")
        var nodes = [first]
        for i in 2...5 { nodes.append(try cluster.start("s\(i)", seeds: [first.gossip])) }
        let names = Set(nodes.map(\.name))
        #expect(waitUntil(timeout: 30) { settled(shards(nodes[4]), live: names, replicas: 3) },
                "shards did not settle on 5 nodes:\n\(cluster.logs)")

        // Writes through any node reach their shard's leader (forwarded when needed).
        for k in 0..<20 {
            let r = try HTTPClient().request(method: .put, nodes[k % 5].api, path: "/v1/kv/key\(k)?request_id=w\(k)", body: Array("v\(k)".utf8))
            #expect(r.status == 200, "\(r.bodyText ?? "")")
        }
        // The CLI shows the same, as JSON with the documented fields.
        let run = try runChorus(["shards", "--json", "--api", nodes[0].api])
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        #expect(objects?.count == 64)
        for key in ["shard", "replicas", "leader", "term", "commit_index", "applied_index"] {
            #expect(objects?.allSatisfy { $0[key] != nil } == true, "\(key)")
        }

        // kill -9 one node, then another: every shard is led again and re-replicated onto live nodes.
        nodes[1].signal(SIGKILL)
        var live = names.subtracting(["s2"])
        #expect(waitUntil(timeout: 40) { settled(shards(nodes[0]), live: live, replicas: 3) },
                "shards did not recover from s2's death:\n\(cluster.logs)")
        nodes[2].signal(SIGKILL)
        live.subtract(["s3"])
        #expect(waitUntil(timeout: 40) { settled(shards(nodes[0]), live: live, replicas: 3) },
                "shards did not recover from s3's death:\n\(cluster.logs)")
        for k in 0..<20 {
            let r = try HTTPClient().request(nodes[3 + k % 2].api, path: "/v1/kv/key\(k)")
            #expect(r.status == 200 && r.bodyText?.contains("\"v\(k)\"") == true, "key\(k): \(r.bodyText ?? "")")
        }

        // s2 restarts with its data: it rejoins, takes replicas again and catches up.
        let reborn = try cluster.start("s2", seeds: [nodes[0].gossip], ports: (nodes[1].gossipPort, nodes[1].apiPort))
        live.insert("s2")
        #expect(waitUntil(timeout: 40) {
            guard settled(shards(nodes[0]), live: live, replicas: 3), let mine = shards(reborn, local: true), !mine.isEmpty,
                  let all = shards(nodes[0]) else { return false }
            // Every replica on s2 has applied what its group's leader committed.
            return mine.allSatisfy { m in all.first { $0.shard == m.shard }.map { m.appliedIndex >= $0.commitIndex } ?? false }
        }, "s2 did not catch up:\n\(cluster.logs)")
    }
}
