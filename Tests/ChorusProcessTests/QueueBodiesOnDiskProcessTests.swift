import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// Queue bodies on disk on real agents (`--queue-bodies-on-disk`): a backlog of 30 000 ×
/// 1 KiB across several local snapshots per shard, some of it acked, then `kill -9` of all
/// three agents and their restart; every unacked message comes back exactly as published,
/// none of the acked ones does, and the bodies are in `<data-dir>/shards/bodies`.
extension QueueProcessTests {
    static let backlog = 30_000

    static func body(_ i: Int) -> String {
        let head = "m\(i)-"
        return head + String(repeating: Character(Unicode.Scalar(UInt8(97 + i % 26))), count: 1024 - head.utf8.count)
    }

    static func settled(_ node: AgentProcess) -> Bool {
        guard let r = try? HTTPClient().request(node.api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
              let views = try? r.decodeJSON([ShardView].self) else { return false }
        return views.count == 64 && views.allSatisfy { $0.leader != nil && $0.replicas.count == 3 && $0.learners.isEmpty }
    }

    static func metric(_ node: AgentProcess, _ name: String) -> Double {
        guard let r = try? HTTPClient().request(node.api, path: "/metrics", timeout: .seconds(5)) else { return 0 }
        return String(decoding: r.body, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(name) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    static func segmentFiles(under directory: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: directory) else { return 0 }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".seg") }.count
    }

    /// Fetches and acks until `want` distinct bodies were seen or nothing comes for a while.
    static func drain(_ nodes: [AgentProcess], want: Int, seen: inout [String: Int], stopAfterEmpty: Int = 20, countOnlyAcked: Bool = false) {
        var empty = 0, n = 0
        while seen.count < want && empty < stopAfterEmpty {
            let api = nodes[n % nodes.count].api
            n += 1
            guard let r = call(api, .post, "/v1/queues/backlog/fetch", #"{"consumer":"d","max_messages":200,"wait_ms":200}"#, timeout: 15),
                  r.status == 200, let messages = r.json["messages"] as? [[String: Any]], !messages.isEmpty else {
                empty += 1
                continue
            }
            empty = 0
            let list = messages.compactMap { $0["receipt"] as? String }.map { "\"\($0)\"" }.joined(separator: ",")
            let ack = call(api, .post, "/v1/queues/backlog/ack", #"{"receipts":[\#(list)]}"#, timeout: 15)
            // Before the kill, only what was surely acked counts (an unanswered ack may be lost).
            guard !countOnlyAcked || ack?.status == 200 else { continue }
            for m in messages { if let b = m["body"] as? String { seen[b, default: 0] += 1 } }
        }
    }

    @Test func bodiesOnDisk_aBacklogAcrossSnapshotsSurvivesKillMinusNineOfEveryAgent() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        // A publish of 50 unkeyed messages is one entry on one partition's shard: 600 entries
        // over 8 shards, so a local snapshot every 20 applied entries makes several per shard.
        let extra = ["--queue-bodies-on-disk", "--snapshot-every", "20"]
        var nodes = try Self.startWithBacklogQueue(cluster, names: ["b1", "b2", "b3"], extra: extra)
        try Self.publish(Self.backlog, to: nodes, cluster: cluster)
        // Ack the first part of the backlog (whatever the partitions hand out first).
        var acked: [String: Int] = [:]
        Self.drain(nodes, want: 3_000, seen: &acked, countOnlyAcked: true)
        #expect(acked.count >= 3_000)
        var snapshots = 0.0
        let crossed = waitUntil(timeout: 15) {
            snapshots = nodes.map { Self.metric($0, "chorus_raft_snapshots_taken_total") }.reduce(0, +)
            return snapshots >= 3 * 8 * 2
        }
        #expect(crossed, "several local snapshots per queue shard on every replica: \(snapshots)")
        for node in nodes {
            #expect(Self.segmentFiles(under: node.dataDirectory + "/shards/bodies") >= 8, "no body log under \(node.dataDirectory)")
        }
        let rssBefore = nodes.map { (try? String(contentsOfFile: "/proc/\($0.process.processIdentifier)/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmRSS") }.map(String.init) ?? "?" }

        for node in nodes { node.kill() }
        var restarted: [AgentProcess] = []
        for (i, old) in nodes.enumerated() {
            restarted.append(try cluster.start(old.name, seeds: i == 0 ? [] : [nodes[0].gossip], ports: (old.gossipPort, old.apiPort), extra: extra))
        }
        nodes = restarted
        #expect(waitUntil(timeout: 60) { Self.settled(nodes[0]) }, "shards did not settle after the restart:\n\(cluster.logs)")

        var seen: [String: Int] = [:]
        let unacked = Self.backlog - acked.count
        Self.drain(nodes, want: unacked, seen: &seen, stopAfterEmpty: 40)
        let expected = Set((0..<Self.backlog).map(Self.body)).subtracting(acked.keys)
        let lost = expected.subtracting(seen.keys)
        let foreign = Set(seen.keys).subtracting(expected)
        print("bodies on disk: \(Self.backlog) published, \(acked.count) acked before kill -9 of all three, \(seen.count) delivered after, \(lost.count) lost, \(foreign.count) acked or altered that came back, \(snapshots) local snapshots; RSS before the kill \(rssBefore)")
        #expect(lost.isEmpty, "lost \(lost.count) unacked messages:\n\(cluster.logs)")
        #expect(foreign.isEmpty, "\(foreign.count) bodies that were acked or not as published came back")
    }

    /// Publishes `count` bodies in batches of 50, each batch through the next node, retrying.
    /// Three agents joined through the first, settled, with the 8-partition queue `backlog`.
    static func startWithBacklogQueue(_ cluster: Cluster, names: [String], extra: [String]) throws -> [AgentProcess] {
        let first = try cluster.start(names[0], extra: extra)
        var nodes = [first]
        for name in names.dropFirst() { nodes.append(try cluster.start(name, seeds: [first.gossip], extra: extra)) }
        #expect(waitUntil(timeout: 40) { Self.settled(nodes[nodes.count - 1]) }, "shards did not settle:\n\(cluster.logs)")
        let created = Self.call(nodes[0].api, .post, "/v1/queues", #"{"name":"backlog","partitions":8,"visibility_timeout_ms":60000}"#)
        #expect(created?.status == 201, "\(String(describing: created))")
        return nodes
    }

    static func publish(_ count: Int, to nodes: [AgentProcess], cluster: Cluster) throws {
        var published = 0
        while published < count {
            let ids = published..<min(published + 50, count)
            let body = #"{"messages":["# + ids.map { #"{"body":"\#(Self.body($0))"}"# }.joined(separator: ",") + "]}"
            var done = false
            for attempt in 0..<20 where !done {
                if let r = Self.call(nodes[(published / 50 + attempt) % nodes.count].api, .post, "/v1/queues/backlog/messages", body, timeout: 15),
                   r.status == 200 {
                    done = true
                } else {
                    usleep(200_000)
                }
            }
            try #require(done, "publish of \(ids) failed:\n\(cluster.logs)")
            published = ids.upperBound
        }
    }

    /// A fourth agent joins three that hold a backlog on disk (bodies on disk by default) and
    /// whose Raft logs are truncated: the replicas placed on it are sent streamed snapshots —
    /// the records image, then the bodies from the body logs — and once one of the first three
    /// is killed, every message is still delivered, exactly as published.
    @Test func bodiesOnDiskByDefault_aJoiningAgentGetsStreamedSnapshots_andServesTheBacklog() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        // 16,000 messages in batches of 50 are 320 entries over the queue's 8 shards: a local
        // snapshot every 5 applied entries truncates every one of those logs many times. Each
        // partition then holds about 2 MiB of bodies, more than one 1 MiB snapshot chunk.
        let extra = ["--snapshot-every", "5"]
        var nodes = try Self.startWithBacklogQueue(cluster, names: ["j1", "j2", "j3"], extra: extra)
        let count = 16_000
        try Self.publish(count, to: nodes, cluster: cluster)
        #expect(waitUntil(timeout: 15) { nodes.map { Self.metric($0, "chorus_raft_snapshots_taken_total") }.reduce(0, +) >= 3 * 8 })

        let joiner = try cluster.start("j4", seeds: [nodes[0].gossip], extra: extra)
        nodes.append(joiner)
        var streamed = 0.0
        let moved = waitUntil(timeout: 90) {
            streamed = nodes.map { Self.metric($0, "chorus_raft_snapshots_streamed_total") }.reduce(0, +)
            return streamed >= 1 && Self.metric(joiner, "chorus_raft_replicas") >= 16 && Self.settled(joiner)
        }
        #expect(moved, "replicas did not move to the new agent (\(streamed) streamed):\n\(cluster.logs)")
        #expect(Self.segmentFiles(under: joiner.dataDirectory + "/shards/bodies") >= 1, "the joiner's bodies are in its own body logs")
        let held = Self.metric(joiner, "chorus_raft_snapshot_bytes_held_receiving_max")
        // A partition's stream is its records image (~50 bytes a message), then ~2 MiB of
        // bodies: holding the bodies would pass 2 MiB; the head and one chunk stay below 1.5.
        #expect(held > 0 && held < Double(3 << 19), "the joiner held \(held) bytes of a snapshot at once")

        nodes[0].kill()
        let rest = Array(nodes.dropFirst())
        #expect(waitUntil(timeout: 90) { Self.settled(rest[0]) }, "shards did not settle on the three left:\n\(cluster.logs)")
        var seen: [String: Int] = [:]
        Self.drain(rest, want: count, seen: &seen, stopAfterEmpty: 60)
        let expected = Set((0..<count).map(Self.body))
        let lost = expected.subtracting(seen.keys)
        let foreign = Set(seen.keys).subtracting(expected)
        print("joining agent: \(count) published, \(streamed) streamed snapshots, joiner held at most \(held) bytes of one; after kill -9 of j1: \(seen.count) delivered, \(lost.count) lost, \(foreign.count) altered")
        #expect(lost.isEmpty, "lost \(lost.count) messages:\n\(cluster.logs)")
        #expect(foreign.isEmpty)
    }
}
