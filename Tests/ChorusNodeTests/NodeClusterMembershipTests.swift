import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// Whole simulated nodes running the real SWIM membership inside `Node`: the view every
/// placement decision follows comes from datagrams over the simulated network, not from the
/// simulator.
@Suite struct NodeClusterMembershipTests {
    static let shards = (0..<4).map { ShardID($0) }

    static func allSee(_ c: NodeCluster, alive: Int) -> Bool {
        c.slots.allSatisfy { s in s.node.map { $0.membership?.count(of: .alive) == alive } ?? true }
    }

    @Test func fiveNodesJoiningThroughOneSeed_convergeAndDeclareACrashedNodeDead_andItsShardsMoveAway() throws {
        let c = try NodeCluster(nodes: 5, settings: NodeCluster.settings(), seed: 21)
        c.run(until: c.now + .seconds(10)) { Self.allSee($0, alive: 5) }
        for s in c.slots {
            let members = s.node?.membership?.members(at: c.time(s.index).now).filter { $0.status == .alive }.map(\.name)
            #expect(members == ["n0", "n1", "n2", "n3", "n4"], "\(s.name) sees every member though it joined through n0 only")
        }
        #expect(c.now < Instant.zero + .seconds(5), "converged at \(c.now)")
        #expect(c.datagramsSent > 0)
        #expect(c.settle())

        // The leader of shard 0 (the seed itself, when it still leads everything it founded)
        // crashes; SWIM alone tells the others.
        let victim = try #require(c.leader(of: Self.shards[0]))
        let name = "n\(victim)", raftID = NodeID(UInt64(victim + 1))
        let led = Self.shards.filter { c.leader(of: $0) == victim }
        let crashedAt = c.now
        c.crash(victim)
        c.run(until: c.now + .seconds(20)) { c in
            c.slots.allSatisfy { s in s.node.map { $0.membership?.status(of: name) == .dead } ?? true }
        }
        for s in c.slots where s.isRunning {
            #expect(s.node?.membership?.status(of: name) == .dead, "\(s.name) declared \(name) dead")
            #expect(s.node?.peers[raftID]?.live == false, "\(s.name)'s peer directory follows its membership view")
        }
        #expect(c.now - crashedAt < .seconds(8), "declared dead \(c.now - crashedAt) after the crash")
        #expect(c.memberEvents.contains { $0.event.kind == .dead && $0.event.name == name })

        // Its shards get leaders elsewhere, and the placement drawn from the new view moves its
        // replicas to the four others.
        c.run(until: c.now + .seconds(60)) { c in
            Self.shards.allSatisfy { shard in
                guard let l = c.leader(of: shard), let status = c.slots[l].node?.host.status(of: shard) else { return false }
                return status.voters.count == 3 && !status.voters.contains(raftID) && status.learners.isEmpty
            }
        }
        for shard in Self.shards {
            let leader = try #require(c.leader(of: shard), "shard \(shard) has a leader")
            let status = try #require(c.slots[leader].node?.host.status(of: shard))
            #expect(!status.voters.contains(raftID) && status.voters.count == 3, "shard \(shard) voters \(status.voters)")
        }
        #expect(!led.isEmpty)
    }

    @Test func aRestartedNode_rejoinsAboveItsLastIncarnation_andIsAliveAgainEverywhere() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 22)
        c.run(until: c.now + .seconds(10)) { Self.allSee($0, alive: 3) }
        #expect(Self.allSee(c, alive: 3))
        let before = try #require(c.slots[2].node?.membership?.incarnation)
        c.crash(2)
        c.run(until: c.now + .seconds(20)) { c in c.slots[0].node?.membership?.status(of: "n2") == .dead }
        #expect(c.slots[0].node?.membership?.status(of: "n2") == .dead)
        try c.restart(2)
        #expect((c.slots[2].node?.membership?.incarnation ?? 0) > before)
        c.run(until: c.now + .seconds(20)) { Self.allSee($0, alive: 3) }
        #expect(Self.allSee(c, alive: 3), "n2 is alive again in every view")
    }
}
