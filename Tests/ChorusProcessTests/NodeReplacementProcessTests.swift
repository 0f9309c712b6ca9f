import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// Replacing one lost node (docs/operations.md, "Backup and restore"): its data directory is
/// gone, it starts empty under its old name with a seed, comes back as a new Raft member, is
/// given its replicas by the others, and then serves the data without the node it was copied from.
@Suite struct NodeReplacementProcessTests {
    static func raftTag(_ node: AgentProcess, of name: String) -> String? {
        node.members()?.first { $0.name == name }?.tags["chorus.raft"]
    }

    @Test func aWipedNodeRestartedWithASeed_isANewRaftMember_andGetsEveryReplicaCopied() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("r1")
        let nodes = [first, try cluster.start("r2", seeds: [first.gossip]), try cluster.start("r3", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 40) { QueueProcessTests.settled(nodes[2]) }, "shards did not settle:\n\(cluster.logs)")
        for i in 0..<30 { #expect(SnapshotProcessTests.retried(nodes, .put, "/v1/kv/replace-\(i)", "value-\(i)") != nil) }
        let oldID = try #require(Self.raftTag(nodes[0], of: "r3"))

        nodes[2].kill()
        try FileManager.default.removeItem(atPath: nodes[2].dataDirectory)
        let replacement = try cluster.start("r3", seeds: [first.gossip], ports: (nodes[2].gossipPort, nodes[2].apiPort))
        var newID: String?
        let copied = waitUntil(timeout: 90) {
            newID = Self.raftTag(nodes[0], of: "r3")
            return newID != nil && newID != oldID && QueueProcessTests.settled(nodes[0])
                && QueueProcessTests.metric(replacement, "chorus_raft_voting_replicas") == 64
        }
        #expect(copied, "the replacement did not become a voter of every shard (raft id \(String(describing: newID)), was \(oldID)):\n\(cluster.logs)")

        // Without r1 (the founder), the keys are read from r2 and the replacement's copies.
        nodes[0].kill()
        let rest = [nodes[1], replacement]
        #expect(waitUntil(timeout: 60) { Self.everyShardLed(rest[0]) }, "no leaders after r1 died:\n\(cluster.logs)")
        for i in 0..<30 {
            #expect(SnapshotProcessTests.retried(rest, .get, "/v1/kv/replace-\(i)")?["value"] as? String == "value-\(i)", "replace-\(i)")
        }
        print("node replacement: r3 wiped and restarted with a seed came back as raft id \(newID ?? "?") (was \(oldID)), voted in all 64 shards, and with r1 gone served 30 of 30 keys")
    }

    static func everyShardLed(_ node: AgentProcess) -> Bool {
        guard let r = try? HTTPClient().request(node.api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
              let views = try? r.decodeJSON([ShardView].self) else { return false }
        return views.count == 64 && views.allSatisfy { $0.leader != nil }
    }
}
