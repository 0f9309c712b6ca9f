import ChorusRuntime
import Foundation
import Testing

/// Founding a cluster on purpose (`--bootstrap-expect N`, as Consul's): the expecting agents
/// found the shard set together once N of them have joined, every shard with its replicas as
/// voters from the start; alone, an expecting agent founds nothing and says what it waits for.
@Suite(.serialized) struct BootstrapExpectProcessTests {
    func shards(_ node: AgentProcess, local: Bool = false) -> [ShardView]? {
        guard let r = try? HTTPClient().request(node.api, path: local ? "/v1/shards?local=1" : "/v1/shards", timeout: .seconds(5)),
              r.status == 200 else { return nil }
        return try? r.decodeJSON([ShardView].self)
    }

    @Test func threeAgentsExpectingThree_foundTogether_withThreeVotersPerShardFromTheStart() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let expect = ["--bootstrap-expect", "3"]
        let first = try cluster.start("b1", extra: expect)
        #expect(waitUntil(timeout: 15) { first.log.contains("waiting for 3 nodes") }, "the lone agent says what it waits for:\n\(cluster.logs)")
        #expect(first.isRunning)
        #expect(shards(first, local: true).map(\.isEmpty) ?? true, "one of three founds nothing")
        let nodes = [first, try cluster.start("b2", seeds: [first.gossip], extra: expect),
                     try cluster.start("b3", seeds: [first.gossip], extra: expect)]
        // The first leaders lead groups that already have three voters: nobody grew them.
        var firstLed: [ShardView] = []
        #expect(waitUntil(timeout: 30) {
            firstLed = (shards(nodes[2]) ?? []).filter { $0.leader != nil }
            return !firstLed.isEmpty
        }, "no shard got a leader:\n\(cluster.logs)")
        #expect(firstLed.allSatisfy { $0.replicas.count == 3 && $0.learners.isEmpty }, "\(firstLed.map(\.replicas))")
        let names: Set<String> = ["b1", "b2", "b3"]
        #expect(waitUntil(timeout: 30) {
            guard let views = shards(nodes[0]), views.count == 64 else { return false }
            return views.allSatisfy { v in v.leader.map(names.contains) == true && Set(v.replicas) == names && v.learners.isEmpty }
        }, "shards did not settle on the three founders:\n\(cluster.logs)")
        let founded = nodes.filter { $0.log.contains("founded the shard set") }
        #expect(founded.count == 3, "each expecting agent founds its replicas of the one shard set")
        let r = try HTTPClient().request(method: .put, nodes[1].api, path: "/v1/kv/k?request_id=w1", body: Array("v".utf8))
        #expect(r.status == 200, "\(r.bodyText ?? "")")
    }
}
