import ChorusRaft
import ChorusRing
import ChorusShards
import XCTest

/// Founding the shard set, and leaders moving their groups to the placement `setTargets` gives
/// (`Rebalancer`), including members that leave a group.
final class ShardHostPlacementTests: XCTestCase {
    func testBootstrapOnOneNode_electsItLeaderOfEveryShard_andAsksToPersistTheEpoch() throws {
        var host = try ShardHost<ShardState>(id: n1, seed: 1, epoch: nil)
        try host.bootstrap(shards: [ShardID(2), ShardID(0), ShardID(1)], epoch: 77)
        XCTAssertEqual(host.order, [ShardID(0), ShardID(1), ShardID(2)])
        XCTAssertEqual(host.leadersHeld, 3)
        let ready = host.ready()
        XCTAssertEqual(ready.epoch, 77)
        XCTAssertEqual(ready.groups.map(\.shard), [ShardID(0), ShardID(1), ShardID(2)])
        XCTAssertTrue(ready.batches.isEmpty, "a group of one sends nothing")
        _ = host.advance(ready)
        while host.hasReady { _ = host.advance(host.ready()) }
        for s in host.statuses {
            XCTAssertEqual(s.role, .leader)
            XCTAssertEqual(s.voters, [n1])
            XCTAssertEqual(s.leader, n1)
            XCTAssertEqual(s.commit, LogIndex(1), "the leader's no-op committed")
            XCTAssertEqual(s.applied, LogIndex(1))
        }
        XCTAssertEqual(host.counters.electionsWon, 3)
    }

    func testBootstrapThroughStore_persistsEpochAndEveryGroup() throws {
        let c = try ShardTestCluster(nodes: 1)
        try c.bootstrap(on: n1, shards: 4, epoch: 5)
        let store = try XCTUnwrap(c.member(n1).store)
        XCTAssertEqual(try store.loadEpoch(), 5)
        XCTAssertEqual(try store.loadGroups().keys.sorted(), (0..<4).map { ShardID($0) })
    }

    func testSetTargetsWithThreeNodes_movesEveryShardToThreeVotersWithNoLearners() throws {
        let c = try ShardTestCluster(nodes: 3)
        try c.bootstrap(on: n1, shards: 6)
        // Targets in ring order, not sorted: the order must not matter.
        var targets: [ShardID: [NodeID]] = [:]
        for s in 0..<6 { targets[ShardID(s)] = s % 2 == 0 ? [n3, n1, n2] : [n1, n2, n3] }
        try c.setTargets(targets)
        let placed = try c.run(maxTicks: 200) { (0..<6).allSatisfy { c.isPlaced(ShardID($0), voters: [n1, n2, n3]) } }
        XCTAssertTrue(placed, "\(c.host(n1).statuses)")
        for id in [n2, n3] {
            XCTAssertEqual(c.host(id).counters.replicasCreated, 6, "\(id) got each replica on demand, once")
            XCTAssertEqual(c.host(id).votingShards, (0..<6).map { ShardID($0) })
        }
        XCTAssertEqual(c.host(n1).counters.reconfigurations, 6 * 4, "add, promote, add, promote per shard")
        // Then the 3 shards whose primary is n3 hand leadership to it (rule 4c).
        XCTAssertTrue(try c.run(maxTicks: 100) { (0..<6).allSatisfy { c.leader(of: ShardID($0)) == ($0 % 2 == 0 ? n3 : n1) } },
                      "each shard ends led by its primary")
        // Placed groups stay put.
        func changes() -> Int { [n1, n2, n3].map { c.host($0).counters.reconfigurations }.reduce(0, +) }
        let before = changes()
        try c.tick(20)
        XCTAssertEqual(changes(), before)
    }

    func testShardMissingFromTargets_isLeftAsItIs() throws {
        let c = try ShardTestCluster(nodes: 2)
        try c.bootstrap(on: n1, shards: 2)
        try c.setTargets([ShardID(1): [n1, n2]])
        XCTAssertTrue(try c.run(maxTicks: 100) { c.isPlaced(ShardID(1), voters: [n1, n2]) })
        try c.tick(20)
        XCTAssertTrue(c.isPlaced(ShardID(0), voters: [n1]))
    }

    /// A new learner that receives the group's log a little at a time applies the group's old
    /// configurations (from before it was added) long before it reaches its own addition.
    /// Those do not list it, but they do not remove it either.
    func testLearnerCatchingUpSlowlyThroughOldConfigurations_isNotDropped() throws {
        var settings = ShardHostSettings()
        settings.raft.maxMessageBytes = 1 // one entry per AppendEntries
        settings.raft.maxInflightMessages = 2
        let c = try ShardTestCluster.placed(shards: 1, settings: settings)
        let shard = ShardID(0)
        for i in 0..<30 {
            try c.withHost(n1) { _ = try $0.propose(shard: shard, requestID: bytes("r\(i)"), command: put("k\(i)", "v"), token: UInt64(i + 1)) }
        }
        try c.tick(3)
        c.roundsPerTick = 1
        try c.add(n4)
        try c.setTargets([shard: [n1, n2, n3, n4]])
        let placed = try c.run(maxTicks: 200) { c.isPlaced(shard, voters: [n1, n2, n3, n4]) }
        XCTAssertTrue(placed, "\(String(describing: c.host(n4).status(of: shard)))")
        XCTAssertEqual(c.host(n4).counters.replicasRemoved, 0)
        XCTAssertEqual(c.host(n4).counters.replicasCreated, 1)
        XCTAssertEqual(c.host(n4).machine(of: shard), c.host(n1).machine(of: shard))
    }

    func testTargetDropsAFollower_itReceivesARemovalNotice_dropsItsReplica_andItsStorageGroup() throws {
        let c = try ShardTestCluster.placed(shards: 3)
        try c.add(n4)
        let shard = ShardID(1)
        let stored = try XCTUnwrap(c.member(n3).store).log.groups
        XCTAssertTrue(stored.contains(UInt64(shard.value)))
        var targets: [ShardID: [NodeID]] = [:]
        for s in 0..<3 { targets[ShardID(s)] = [n1, n2, n3] }
        targets[shard] = [n1, n2, n4]
        try c.setTargets(targets)
        let moved = try c.run(maxTicks: 300) { c.isPlaced(shard, voters: [n1, n2, n4]) }
        XCTAssertTrue(moved, "\(c.running.map { ($0.id, $0.host?.status(of: shard) as Any) })")
        let n3host = c.host(n3)
        XCTAssertNil(n3host.status(of: shard))
        XCTAssertEqual(n3host.order, [ShardID(0), ShardID(2)])
        XCTAssertEqual(n3host.counters.removalNotices, 1, "the leader told it")
        XCTAssertEqual(n3host.counters.replicasRemoved, 1)
        let store = try XCTUnwrap(c.member(n3).store)
        XCTAssertFalse(store.log.groups.contains(UInt64(shard.value)), "its log records are gone")
        XCTAssertFalse(try store.snapshots.groups().contains(UInt64(shard.value)))
        XCTAssertEqual(try store.loadGroups().keys.sorted(), [ShardID(0), ShardID(2)])
        // It stays gone: nothing recreates it.
        try c.tick(50)
        XCTAssertNil(c.host(n3).status(of: shard))
        XCTAssertEqual(c.host(n3).counters.replicasCreated, 3)
    }

    /// A member removed while it was down missed both its removal's commit and the notice the
    /// leader sent then. Restarted, its configuration still lists it and it campaigns; the
    /// leader it asks for a vote tells it again that it was removed.
    func testMemberRemovedWhileDown_restarts_isToldAgain_andDropsItsReplicaAndStorageGroup() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        try c.add(n4)
        let shard = ShardID(0)
        c.crash(n3)
        try c.setTargets([shard: [n1, n2, n4], ShardID(1): [n1, n2, n4]])
        XCTAssertTrue(try c.run(maxTicks: 300) { [shard, ShardID(1)].allSatisfy { s in
            c.host(n1).status(of: s)?.voters == [n1, n2, n4] && c.host(n1).status(of: s)?.learners == []
        } })
        try c.start(n3)
        XCTAssertEqual(c.host(n3).status(of: shard)?.voters, [n1, n2, n3], "it cannot know")
        let gone = try c.run(maxTicks: 100) { c.host(n3).order.isEmpty }
        XCTAssertTrue(gone, "\(c.host(n3).statuses)")
        XCTAssertEqual(c.host(n3).counters.removalNotices, 2)
        XCTAssertEqual(c.host(n3).votingShards, [], "a draining node need not wait for groups it left")
        XCTAssertEqual(try XCTUnwrap(c.member(n3).store).loadGroups().count, 0)
        try c.tick(30)
        XCTAssertTrue(c.host(n3).order.isEmpty)
        XCTAssertTrue([shard, ShardID(1)].allSatisfy { c.isPlaced($0, voters: [n1, n2, n4]) })
    }

    func testNodeRemovedThenAddedBack_getsTheGroupAgainWithTheSameState_andKeepsItAcrossARestart() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 6
        let c = try ShardTestCluster.placed(shards: 1, settings: settings)
        try c.add(n4)
        let shard = ShardID(0)
        func write(_ prefix: String, tokens: ClosedRange<UInt64>) throws {
            let leader = try XCTUnwrap(c.leader(of: shard))
            for t in tokens {
                try c.withHost(leader) { _ = try $0.propose(shard: shard, requestID: bytes("\(prefix)\(t)"), command: put("\(prefix)\(t)", "v"), token: t) }
            }
            XCTAssertTrue(try c.run(maxTicks: 30) { tokens.allSatisfy { c.reply(leader, token: $0) != nil } })
        }
        try write("a", tokens: 1...8)
        try c.setTargets([shard: [n1, n2, n4]])
        XCTAssertTrue(try c.run(maxTicks: 200) { c.isPlaced(shard, voters: [n1, n2, n4]) })
        try write("b", tokens: 11...20)
        try c.setTargets([shard: [n1, n2, n3]])
        XCTAssertTrue(try c.run(maxTicks: 200) { c.isPlaced(shard, voters: [n1, n2, n3]) })
        XCTAssertEqual(c.host(n3).counters.replicasCreated, 2)
        XCTAssertEqual(c.host(n3).counters.replicasRemoved, 1)
        XCTAssertEqual(c.host(n3).machine(of: shard), c.host(n1).machine(of: shard))
        XCTAssertEqual(c.host(n3).machine(of: shard)?.values.count, 18)
        // What the node stored for the group the first time must not come back.
        try write("c", tokens: 21...22)
        c.crash(n3)
        try c.start(n3)
        XCTAssertEqual(c.host(n3).status(of: shard)?.voters, [n1, n2, n3])
        try write("d", tokens: 31...32)
        try c.tick(3)
        XCTAssertEqual(c.host(n3).machine(of: shard), c.host(n1).machine(of: shard))
        XCTAssertEqual(c.host(n3).machine(of: shard)?.values.count, 22)
    }

    func testLearnerThatNeverAnswers_blocksItsTarget_untilTheTargetDropsIt_thenIsRemoved() throws {
        let c = try ShardTestCluster.placed(shards: 1)
        try c.add(n4)
        c.crash(n4)
        let shard = ShardID(0)
        try c.setTargets([shard: [n1, n2, n3, n4]])
        try c.tick(40)
        XCTAssertEqual(c.host(n1).status(of: shard)?.learners, [n4], "added, never promoted")
        XCTAssertEqual(c.host(n1).status(of: shard)?.voters, [n1, n2, n3])
        try c.setTargets([shard: [n1, n2, n3]])
        XCTAssertTrue(try c.run(maxTicks: 40) { c.isPlaced(shard, voters: [n1, n2, n3]) })
    }

    func testTargetDropsTheLeader_itHandsOverLeadership_thenLeavesTheGroup() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        try c.add(n4)
        let shard = ShardID(0)
        try c.setTargets([shard: [n2, n3, n4], ShardID(1): [n1, n2, n3]])
        let moved = try c.run(maxTicks: 400) { c.isPlaced(shard, voters: [n2, n3, n4]) }
        XCTAssertTrue(moved, "\(c.running.map { ($0.id, $0.host?.status(of: shard) as Any) })")
        let leader = try XCTUnwrap(c.leader(of: shard))
        XCTAssertTrue([n2, n3].contains(leader), "a caught-up member of the target took over, not \(leader)")
        XCTAssertNil(c.host(n1).status(of: shard))
        XCTAssertEqual(c.host(n1).order, [ShardID(1)])
        XCTAssertFalse(try XCTUnwrap(c.member(n1).store).log.groups.contains(UInt64(shard.value)))
        // The group still takes writes.
        let token: UInt64 = 1
        try c.withHost(leader) { _ = try $0.propose(shard: shard, requestID: bytes("after"), command: put("k", "v"), token: token) }
        XCTAssertTrue(try c.run(maxTicks: 20) { c.reply(leader, token: token) != nil })
        guard case let .applied(_, reply)? = c.reply(leader, token: token)?.outcome else { return XCTFail("not applied") }
        XCTAssertEqual(reply, [ShardState.Reply.done.rawValue])
        XCTAssertEqual(c.host(n4).machine(of: shard)?.values[bytes("k")], bytes("v"))
    }
}
