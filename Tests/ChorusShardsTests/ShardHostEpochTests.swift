import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import XCTest

/// The shard-set epoch: two separately bootstrapped sets never mix groups that share a shard
/// number; a fresh node joins the first set it hears from and persists that.
final class ShardHostEpochTests: XCTestCase {
    /// A batch from `from`'s leader of shard 0 in another shard set: entries that would create
    /// or overwrite a replica if accepted.
    private func foreignBatch(from: NodeID, to: NodeID, epoch: UInt64) -> ShardBatch {
        var b = ShardBatch(from: from, to: to, epoch: epoch)
        let entries = [Entry(index: LogIndex(1), term: Term(9), payload: .configuration(Configuration(voters: [from], learners: [to]))),
                       Entry(index: LogIndex(2), term: Term(9), payload: .command(CommandEnvelope(requestID: [], body: put("evil", "1")).encoded()))]
        b.append(Message(from: from, to: to, term: Term(9), body: .appendEntries(AppendEntries(prevIndex: .zero, prevTerm: .zero, entries: entries, commit: LogIndex(2)))), shard: ShardID(0))
        b.append(Message(from: from, to: to, term: Term(9), body: .heartbeat(Heartbeat(commit: LogIndex(2)))), shard: ShardID(1))
        return b
    }

    func testBatchFromAnotherEpoch_isDropped_andChangesNothing() throws {
        var host = try ShardHost<ShardState>(id: n1, seed: 3, epoch: nil)
        try host.bootstrap(shards: [ShardID(0), ShardID(1)], epoch: 10)
        while host.hasReady { _ = host.advance(host.ready()) }
        let before = host.statuses
        host.receive(foreignBatch(from: n5, to: n1, epoch: 11))
        XCTAssertEqual(host.counters.batchesOtherEpoch, 1)
        XCTAssertEqual(host.counters.batchesReceived, 0)
        XCTAssertFalse(host.hasReady)
        XCTAssertEqual(host.statuses, before)
        XCTAssertEqual(host.epoch, 10)
    }

    func testFreshHostWithAnEpoch_dropsOtherEpochs_andCreatesNoReplica() throws {
        var host = try ShardHost<ShardState>(id: n2, seed: 3, epoch: 10)
        host.receive(foreignBatch(from: n5, to: n2, epoch: 11))
        XCTAssertEqual(host.counters.batchesOtherEpoch, 1)
        XCTAssertTrue(host.order.isEmpty)
        XCTAssertFalse(host.hasReady)
    }

    func testFreshHost_adoptsTheFirstEpochItHears_asksToPersistIt_andRefusesAnyOther() throws {
        let fs = MemoryFileSystem()
        let store = try ShardStore(directory: "/data", fileSystem: fs)
        var host = try ShardHost<ShardState>(id: n2, seed: 3, epoch: try store.loadEpoch())
        XCTAssertNil(host.epoch)
        host.receive(foreignBatch(from: n1, to: n2, epoch: 10))
        XCTAssertEqual(host.epoch, 10)
        XCTAssertEqual(host.order, [ShardID(0), ShardID(1)], "the leader's entries and heartbeat created replicas")
        XCTAssertEqual(host.counters.replicasCreated, 2)
        XCTAssertTrue(host.hasReady)
        let first = host.ready()
        XCTAssertEqual(first.epoch, 10, "the driver is asked to persist the adopted epoch")
        try store.persist(first)
        try store.sync()
        _ = host.advance(first)
        while host.hasReady {
            let r = host.ready()
            XCTAssertNil(r.epoch, "asked once")
            try store.persist(r)
            try store.sync()
            _ = host.advance(r)
        }
        fs.crash()
        XCTAssertEqual(try ShardStore(directory: "/data", fileSystem: fs).loadEpoch(), 10, "durable")
        host.receive(foreignBatch(from: n5, to: n2, epoch: 12))
        XCTAssertEqual(host.counters.batchesOtherEpoch, 1)
        XCTAssertEqual(host.epoch, 10)
    }

    func testFreshHost_ignoresEntriesFromASenderWithoutEpoch() throws {
        var host = try ShardHost<ShardState>(id: n2, seed: 3, epoch: nil)
        host.receive(foreignBatch(from: n1, to: n2, epoch: 0))
        XCTAssertNil(host.epoch)
        XCTAssertTrue(host.order.isEmpty, "no replica is created outside a shard set")
        XCTAssertFalse(host.hasReady)
    }

    func testMisaddressedBatch_isCountedAndDropped() throws {
        var host = try ShardHost<ShardState>(id: n2, seed: 3, epoch: 10)
        host.receive(foreignBatch(from: n1, to: n3, epoch: 10))
        XCTAssertEqual(host.counters.batchesMisaddressed, 1)
        XCTAssertTrue(host.order.isEmpty)
    }

    func testTwoSeparatelyBootstrappedSets_neverMixTheirGroups() throws {
        // Nodes 1–2 and 3–4 found two sets with the same shard numbers; then every node hears
        // every other (as after a mistaken join of two clusters).
        let c = try ShardTestCluster(nodes: 4)
        try c.bootstrap(on: n1, shards: 2, epoch: 100)
        try c.bootstrap(on: n3, shards: 2, epoch: 200)
        try c.setTargets([ShardID(0): [n1, n2], ShardID(1): [n1, n2]])
        try c.withHost(n3) { $0.setTargets([ShardID(0): [n3, n4], ShardID(1): [n3, n4]]) }
        try c.withHost(n4) { $0.setTargets([ShardID(0): [n3, n4], ShardID(1): [n3, n4]]) }
        XCTAssertTrue(try c.run(maxTicks: 150) { [ShardID(0), ShardID(1)].allSatisfy { s in
            [n1, n2].allSatisfy { c.host($0).status(of: s)?.voters == [n1, n2] } && [n3, n4].allSatisfy { c.host($0).status(of: s)?.voters == [n3, n4] }
        } })
        XCTAssertEqual(c.host(n2).epoch, 100)
        XCTAssertEqual(c.host(n4).epoch, 200)
        // Each set now asks the other's nodes to join its groups.
        try c.setTargets([ShardID(0): [n1, n2, n3]])
        try c.withHost(n3) { $0.setTargets([ShardID(0): [n3, n4, n1]]) }
        try c.tick(60)
        XCTAssertEqual(c.host(n1).status(of: ShardID(0))?.voters, [n1, n2], "n3 of the other set never joined")
        XCTAssertEqual(c.host(n3).status(of: ShardID(0))?.voters, [n3, n4], "n1 of the other set never joined")
        XCTAssertGreaterThan(c.host(n1).counters.batchesOtherEpoch, 0)
        XCTAssertGreaterThan(c.host(n3).counters.batchesOtherEpoch, 0)
    }
}
