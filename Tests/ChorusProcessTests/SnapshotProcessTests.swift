import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// `chorus snapshot save|restore` on real agents: whole-cluster disaster recovery brings back
/// every key, lock hold and queue message, and a running agent's directory is refused.
@Suite struct SnapshotProcessTests {
    static func call(_ api: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) -> (status: Int, json: [String: Any])? {
        QueueProcessTests.call(api, method, path, body, timeout: 15)
    }

    /// Retries `request` on each node in turn until one answers 2xx.
    static func retried(_ nodes: [AgentProcess], _ method: HTTPMethod, _ path: String, _ body: String? = nil) -> [String: Any]? {
        for attempt in 0..<30 {
            if let r = call(nodes[attempt % nodes.count].api, method, path, body), (200..<300).contains(r.status) { return r.json }
            usleep(200_000)
        }
        return nil
    }

    /// SIGKILL: the directories as a crash left them; SIGTERM to all at once: graceful leaves
    /// with drains that have nowhere to go.
    @Test(arguments: [SIGKILL, SIGTERM])
    func wholeClusterRestore_afterEveryAgentStops_bringsBackKeysLocksAndQueueMessages(signal: Int32) throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("s1")
        let nodes = [first, try cluster.start("s2", seeds: [first.gossip]), try cluster.start("s3", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 40) { QueueProcessTests.settled(nodes[2]) }, "shards did not settle:\n\(cluster.logs)")

        for i in 0..<30 { #expect(Self.retried(nodes, .put, "/v1/kv/backup-\(i)", "value-\(i)") != nil, "put backup-\(i)") }
        let session = try #require(Self.retried(nodes, .post, "/v1/sessions", #"{"ttl_ms":600000}"#)?["id"] as? String)
        let grant = try #require(Self.retried(nodes, .post, "/v1/locks/backup/acquire", #"{"session":"\#(session)"}"#))
        let token = try #require(grant["token"] as? Int)
        #expect(Self.retried(nodes, .post, "/v1/queues", #"{"name":"backup","partitions":4,"visibility_timeout_ms":60000}"#) != nil)
        let bodies = (0..<40).map { "message-\($0)" }
        let batch = #"{"messages":["# + bodies.map { #"{"body":"\#($0)"}"# }.joined(separator: ",") + "]}"
        #expect(Self.retried(nodes, .post, "/v1/queues/backup/messages", batch) != nil)

        // The disaster: every agent stops at once; each directory is saved, then lost.
        for node in nodes { node.signal(signal) }
        for node in nodes { #expect(node.waitForExit(timeout: 60) != nil, "\(node.name) did not exit:\n\(cluster.logs)") }
        let archives = cluster.workDirectory + "/archives"
        try FileManager.default.createDirectory(atPath: archives, withIntermediateDirectories: true)
        for node in nodes {
            let saved = try runChorus(["snapshot", "save", "--data-dir", node.dataDirectory, "--out", archives + "/\(node.name).archive"])
            #expect(saved.status == 0, "save \(node.name): \(saved.stderr)")
            #expect(saved.stdout.contains("(node \(node.name), raft id"), "\(saved.stdout)")
            try FileManager.default.removeItem(atPath: node.dataDirectory)
        }

        // Restored into fresh directories (another work directory), started on the same ports.
        let restoredCluster = Cluster()
        defer { restoredCluster.shutdown() }
        for node in nodes {
            let restored = try runChorus(["snapshot", "restore", "--in", archives + "/\(node.name).archive",
                                          "--data-dir", restoredCluster.workDirectory + "/" + node.name, "--whole-cluster"])
            #expect(restored.status == 0, "restore \(node.name): \(restored.stderr)")
        }
        var restarted: [AgentProcess] = []
        for (i, old) in nodes.enumerated() {
            restarted.append(try restoredCluster.start(old.name, seeds: i == 0 ? [] : [nodes[0].gossip], ports: (old.gossipPort, old.apiPort)))
        }
        #expect(waitUntil(timeout: 60) { QueueProcessTests.settled(restarted[0]) }, "shards did not settle after the restore:\n\(restoredCluster.logs)")

        for i in 0..<30 {
            #expect(Self.retried(restarted, .get, "/v1/kv/backup-\(i)")?["value"] as? String == "value-\(i)", "backup-\(i) after the restore")
        }
        let status = Self.retried(restarted, .get, "/v1/locks/backup")
        let holders = status?["holders"] as? [[String: Any]] ?? []
        #expect(holders.count == 1 && holders.first?["session"] as? String == session && holders.first?["token"] as? Int == token,
                "the lock's holder after the restore: \(String(describing: status))")
        var seen = Set<String>()
        for _ in 0..<40 where seen.count < bodies.count {
            let fetched = Self.retried(restarted, .post, "/v1/queues/backup/fetch", #"{"max_messages":100,"wait_ms":200}"#)
            for m in fetched?["messages"] as? [[String: Any]] ?? [] { if let b = m["body"] as? String { seen.insert(b) } }
        }
        #expect(seen == Set(bodies), "queue messages after the restore: \(seen.count) of \(bodies.count)")
        print("whole-cluster restore after signal \(signal) to all: 30 keys, the lock (token \(token)) and \(seen.count) of \(bodies.count) queue messages back after the stop, save, wipe and restore of all three agents")
    }

    @Test func save_ofARunningAgentsDirectory_isRefused() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let node = try cluster.start("live")
        #expect(waitUntil(timeout: 20) { node.members() != nil }, "the agent did not start:\n\(cluster.logs)")
        let out = cluster.workDirectory + "/live.archive"
        let refused = try runChorus(["snapshot", "save", "--data-dir", node.dataDirectory, "--out", out])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is held by process \(node.process.processIdentifier)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let second = try runChorus(["agent", "--name", "again", "--bind", "127.0.0.1:0", "--api", "127.0.0.1:0", "--data-dir", node.dataDirectory])
        #expect(second.status != 0 && second.stderr.contains("is held by process"), "a second agent on the directory: \(second.stderr)")
    }
}
