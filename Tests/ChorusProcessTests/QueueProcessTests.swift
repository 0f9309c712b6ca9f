import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Synchronization
import Testing

/// The queue on real agents: 4 producers and 4 consumers spread over 3 agents, `kill -9` of
/// the node leading the most of the queue's partitions mid-run, and its restart; nothing
/// acknowledged is lost, duplicates are counted.
@Suite(.serialized) struct QueueProcessTests {
    final class Tally: @unchecked Sendable {
        struct State {
            var acknowledged: Set<String> = []
            var seen: [String: Int] = [:]
            var publishing = true
            var consuming = true
            var publishErrors = 0
        }
        let state = Mutex(State())
    }

    static func call(_ api: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil, timeout: Double = 10) -> (status: Int, json: [String: Any])? {
        guard let r = try? HTTPClient().request(method: method, api, path: path, body: body.map { Array($0.utf8) },
                                                timeout: .milliseconds(Int64(timeout * 1000))) else { return nil }
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    @Test func killMinusNineOfABusyLeader_losesNothingAcknowledged() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("q1")
        var nodes = [first, try cluster.start("q2", seeds: [first.gossip]), try cluster.start("q3", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(nodes[2].api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return views.count == 64 && views.allSatisfy { $0.leader != nil && $0.replicas.count == 3 && $0.learners.isEmpty }
        }, "shards did not settle:\n\(cluster.logs)")
        let created = Self.call(nodes[0].api, .post, "/v1/queues", #"{"name":"work","partitions":8,"visibility_timeout_ms":3000}"#)
        #expect(created?.status == 201, "\(String(describing: created))")
        let apis = Mutex(nodes.map(\.api))
        let tally = Tally()
        var threads: [Thread] = []
        for p in 0..<4 {
            let t = Thread {
                var n = 0
                var node = p % 3
                while tally.state.withLock({ $0.publishing }) {
                    let ids = (0..<10).map { "p\(p)-\(n + $0)" }
                    n += 10
                    let body = #"{"messages":["# + ids.map { #"{"body":"\#($0)","id":"\#($0)","key":"\#($0)"}"# }.joined(separator: ",") + "]}"
                    var done = false
                    for _ in 0..<30 where !done {
                        let api = apis.withLock { $0[node] }
                        if let r = Self.call(api, .post, "/v1/queues/work/messages", body), r.status == 200 {
                            tally.state.withLock { for id in ids { $0.acknowledged.insert(id) } }
                            done = true
                        } else {
                            tally.state.withLock { $0.publishErrors += 1 }
                            node = (node + 1) % 3
                            usleep(100_000)
                        }
                    }
                }
            }
            threads.append(t)
        }
        for c in 0..<4 {
            let t = Thread {
                var node = (c + 1) % 3
                while tally.state.withLock({ $0.consuming }) {
                    let api = apis.withLock { $0[node] }
                    guard let r = Self.call(api, .post, "/v1/queues/work/fetch", #"{"consumer":"c\#(c)","max_messages":50,"wait_ms":500}"#),
                          r.status == 200, let messages = r.json["messages"] as? [[String: Any]] else {
                        node = (node + 1) % 3
                        usleep(100_000)
                        continue
                    }
                    let receipts = messages.compactMap { $0["receipt"] as? String }
                    tally.state.withLock { s in for m in messages { if let b = m["body"] as? String { s.seen[b, default: 0] += 1 } } }
                    if !receipts.isEmpty {
                        let list = receipts.map { "\"\($0)\"" }.joined(separator: ",")
                        _ = Self.call(api, .post, "/v1/queues/work/ack", #"{"receipts":[\#(list)]}"#)
                    }
                }
            }
            threads.append(t)
        }
        for t in threads { t.start() }
        sleep(4)
        // The node leading the most of the queue's partitions' shards.
        let map = ShardMap(ring: Ring(members: [RingMember(name: "x", status: .alive)]), shardCount: 64, replicationFactor: 3)
        let r = try HTTPClient().request(nodes[0].api, path: "/v1/shards", timeout: .seconds(5))
        let views = try r.decodeJSON([ShardView].self)
        var leads: [String: Int] = [:]
        for p in 0..<8 {
            let shard = map.shard(forKey: "work/\(p)")
            if let leader = views.first(where: { $0.shard == shard.index })?.leader { leads[leader, default: 0] += 1 }
        }
        let victimName = try #require(leads.max { $0.value < $1.value }?.key)
        let victim = try #require(nodes.firstIndex { $0.name == victimName })
        let old = nodes[victim]
        old.kill()
        sleep(3)
        nodes[victim] = try cluster.start(old.name, seeds: [nodes[(victim + 1) % 3].gossip], ports: (old.gossipPort, old.apiPort))
        let restarted = nodes[victim]
        apis.withLock { $0[victim] = restarted.api }
        sleep(4)
        tally.state.withLock { $0.publishing = false }
        // Drain: the consumers go on until every acknowledged publish was seen.
        let drained = waitUntil(timeout: 20) { tally.state.withLock { s in s.acknowledged.allSatisfy { s.seen[$0] != nil } } }
        tally.state.withLock { $0.consuming = false }
        sleep(1)
        let (acknowledged, lost, duplicates, deliveries, errors) = tally.state.withLock { s in
            (s.acknowledged.count, s.acknowledged.filter { s.seen[$0] == nil }.count, s.seen.values.reduce(0) { $0 + max(0, $1 - 1) },
             s.seen.values.reduce(0, +), s.publishErrors)
        }
        print("queue process run: killed \(victimName) (leading \(leads[victimName] ?? 0) of 8 partitions); \(acknowledged) acknowledged publishes, \(lost) lost, \(deliveries) deliveries, \(duplicates) duplicates, \(errors) publish retries")
        #expect(drained && lost == 0, "lost \(lost) of \(acknowledged)\n\(cluster.logs)")
        #expect(acknowledged > 500)
    }
}
