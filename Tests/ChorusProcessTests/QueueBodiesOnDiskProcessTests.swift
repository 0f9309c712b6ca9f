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
        let first = try cluster.start("b1", extra: extra)
        var nodes = [first, try cluster.start("b2", seeds: [first.gossip], extra: extra), try cluster.start("b3", seeds: [first.gossip], extra: extra)]
        #expect(waitUntil(timeout: 40) { Self.settled(nodes[2]) }, "shards did not settle:\n\(cluster.logs)")
        let created = Self.call(nodes[0].api, .post, "/v1/queues", #"{"name":"backlog","partitions":8,"visibility_timeout_ms":60000}"#)
        #expect(created?.status == 201, "\(String(describing: created))")
        var published = 0
        while published < Self.backlog {
            let ids = published..<min(published + 50, Self.backlog)
            let body = #"{"messages":["# + ids.map { #"{"body":"\#(Self.body($0))"}"# }.joined(separator: ",") + "]}"
            var done = false
            for attempt in 0..<20 where !done {
                if let r = Self.call(nodes[(published / 50 + attempt) % 3].api, .post, "/v1/queues/backlog/messages", body, timeout: 15), r.status == 200 {
                    done = true
                } else {
                    usleep(200_000)
                }
            }
            try #require(done, "publish of \(ids) failed:\n\(cluster.logs)")
            published = ids.upperBound
        }
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
        print("bodies on disk: \(published) published, \(acked.count) acked before kill -9 of all three, \(seen.count) delivered after, \(lost.count) lost, \(foreign.count) acked or altered that came back, \(snapshots) local snapshots; RSS before the kill \(rssBefore)")
        #expect(lost.isEmpty, "lost \(lost.count) unacked messages:\n\(cluster.logs)")
        #expect(foreign.isEmpty, "\(foreign.count) bodies that were acked or not as published came back")
    }
}
