import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// Quiescent groups in whole simulated nodes: the node turns quiescence on and feeds the host
/// the SWIM verdicts, so idle groups stop ticking and a crashed leader's groups are led again
/// as soon as membership suspects it.
@Suite struct NodeQuiescenceTests {
    static let shards = (0..<8).map { ShardID($0) }

    static func allQuiescent(_ c: NodeCluster) -> Bool {
        c.slots.allSatisfy { s in s.node.map { !$0.host.order.isEmpty && $0.host.quiescentCount == $0.host.order.count } ?? true }
    }

    @Test func idleNodesQuiesceEveryGroup_andACrashedLeadersGroupsAreLedAgainQuickly() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(shards: Self.shards.count), seed: 31)
        #expect(c.settle())
        c.run(until: c.now + .seconds(10)) { Self.allQuiescent($0) }
        #expect(Self.allQuiescent(c), "every replica on every node quiesces: \(c.slots.map { $0.node?.host.quiescentCount ?? -1 })")
        let quiet = c.now
        c.run(for: .seconds(5))
        for s in c.slots { #expect(s.node?.host.awakeCount == 0, "\(s.name) stayed quiescent through \(c.now - quiet) of idleness") }

        let victim = try #require(c.leader(of: Self.shards[0]))
        let led = Self.shards.filter { c.leader(of: $0) == victim }
        let crashedAt = c.now
        c.crash(victim)
        c.run(until: c.now + .seconds(10)) { c in led.allSatisfy { s in c.leader(of: s).map { $0 != victim } ?? false } }
        let failover = c.now - crashedAt
        #expect(led.allSatisfy { s in c.leader(of: s).map { $0 != victim } ?? false }, "every group the crashed node led has a new leader")
        // SWIM here suspects within about half a simulated second (periods of 200 ms).
        #expect(failover < .seconds(2), "failover took \(failover)")
    }
}
