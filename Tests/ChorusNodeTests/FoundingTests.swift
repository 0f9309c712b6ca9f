import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// Founding the shard set together (`NodeSettings.bootstrapExpect`) on whole simulated nodes.
@Suite struct FoundingTests {
    static func settings(expect: Int) -> NodeSettings {
        var s = NodeCluster.settings()
        s.bootstrapExpect = expect
        return s
    }

    @Test func threeNodesExpectingThree_foundOneShardSet_withTheirReplicasAsVotersFromTheStart() throws {
        let c = try NodeCluster(nodes: 3, settings: Self.settings(expect: 3), seed: 3)
        #expect(c.settle())
        let epochs = c.slots.compactMap { $0.node?.host.epoch }
        #expect(epochs.count == 3 && Set(epochs).count == 1, "one shard set: \(epochs)")
        for s in c.slots {
            let host = try #require(s.node?.host)
            #expect(host.order.count == 4, "every shard is on every node (3 replicas of 3)")
            #expect(host.counters.replicasCreated == 0, "\(s.name): no replica had to be added after founding")
        }
        guard case .sessionOpened? = c.ask(.openSession(ttlMillis: 5_000, requestID: try ChorusLocks.RequestID("open-1")), at: 1) else {
            Issue.record("the founded cluster serves")
            return
        }
    }

    @Test func twoNodesExpectingThree_foundNothing() throws {
        let c = try NodeCluster(nodes: 2, settings: Self.settings(expect: 3), seed: 3)
        c.run(for: .seconds(3))
        for s in c.slots {
            let node = try #require(s.node)
            #expect(node.host.epoch == nil && node.host.order.isEmpty)
        }
    }

    @Test func foundingEpoch_dependsOnlyOnTheFoundersIds() {
        let a = Node.foundingEpoch([NodeID(3), NodeID(1), NodeID(2)])
        #expect(a == Node.foundingEpoch([NodeID(1), NodeID(2), NodeID(3)]))
        #expect(a != Node.foundingEpoch([NodeID(1), NodeID(2), NodeID(4)]))
        #expect(a != 0)
    }
}
