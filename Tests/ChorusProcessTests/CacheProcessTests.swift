import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// The cache on three real agents on 127.0.0.1: a value written on one agent is read on
/// another, an overwrite on the third is what every agent reads next, and `kill -9` of the
/// key's home right after an acknowledged write loses nothing.
@Suite(.serialized) struct CacheProcessTests {
    static func call(_ api: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) -> (status: Int, json: [String: Any])? {
        guard let r = try? HTTPClient().request(method: method, api, path: path, body: body.map { Array($0.utf8) }, timeout: .seconds(15)) else {
            return nil
        }
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    /// A write retried while the key's home is not serving yet (503: a new home waits out the
    /// old one's leases); true once acknowledged.
    static func put(_ api: String, _ key: String, _ value: String) -> Bool {
        waitUntil(timeout: 30) { call(api, .put, "/v1/cache/\(key)", value)?.status == 200 }
    }

    /// The value a read answers, retried past 503s; nil when none came.
    static func get(_ api: String, _ key: String) -> String? {
        var value: String?
        _ = waitUntil(timeout: 30) {
            guard let r = call(api, .get, "/v1/cache/\(key)"), r.status == 200 else { return false }
            value = r.json["value"] as? String
            return true
        }
        return value
    }

    @Test func writeOnOneAgent_overwriteOnAnother_everyAgentReadsTheNewValue_andAKilledHomeLosesNothing() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("c1")
        var nodes = [first, try cluster.start("c2", seeds: [first.gossip]), try cluster.start("c3", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(nodes[2].api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return views.count == 64 && views.allSatisfy { $0.leader != nil && $0.replicas.count == 3 && $0.learners.isEmpty }
        }, "shards did not settle:\n\(cluster.logs)")

        #expect(Self.put(nodes[0].api, "greeting", "hello"), "put on c1:\n\(cluster.logs)")
        #expect(Self.get(nodes[1].api, "greeting") == "hello")
        #expect(Self.get(nodes[0].api, "greeting") == "hello")
        #expect(Self.put(nodes[2].api, "greeting", "bonjour"))
        for node in nodes { #expect(Self.get(node.api, "greeting") == "bonjour", "read on \(node.name)") }
        let stats = try #require(Self.call(nodes[1].api, .get, "/v1/cache"))
        #expect(stats.status == 200 && stats.json["hits"] != nil && stats.json["invalidations_received"] != nil, "\(stats)")
        let metrics = try HTTPClient().request(nodes[1].api, path: "/metrics", timeout: .seconds(5))
        #expect(metrics.bodyText?.contains("chorus_cache_hits_total") == true && metrics.bodyText?.contains("chorus_cache_bytes") == true)
        #expect(Self.call(nodes[0].api, .delete, "/v1/cache/greeting")?.status == 200)
        #expect(Self.call(nodes[1].api, .get, "/v1/cache/greeting")?.status == 404)

        // kill -9 of the key's home right after an acknowledged write.
        let map = ShardMap(ring: Ring(members: [RingMember(name: "x", status: .alive)]), shardCount: 64, replicationFactor: 3)
        let shard = map.shard(forKey: "cache/durable")
        let r = try HTTPClient().request(nodes[0].api, path: "/v1/shards", timeout: .seconds(5))
        let homeName = try #require(try r.decodeJSON([ShardView].self).first { $0.shard == shard.index }?.leader)
        let home = try #require(nodes.firstIndex { $0.name == homeName })
        let writer = (home + 1) % 3
        #expect(Self.put(nodes[writer].api, "durable", "v1"))
        #expect(Self.get(nodes[home].api, "durable") == "v1")
        #expect(Self.put(nodes[writer].api, "durable", "v2"), "acknowledged write before the kill")
        let old = nodes[home]
        old.kill()
        for i in 0..<3 where i != home { #expect(Self.get(nodes[i].api, "durable") == "v2", "read on \(nodes[i].name) after the kill") }
        nodes[home] = try cluster.start(old.name, seeds: [nodes[writer].gossip], ports: (old.gossipPort, old.apiPort))
        #expect(Self.get(nodes[home].api, "durable") == "v2", "read on the restarted home:\n\(cluster.logs)")
        print("cache process run: home \(homeName) of shard \(shard.index) killed after an acknowledged write; every agent reads it")
    }
}
