import ChorusRaft
import ChorusRing
import ChorusShards
import XCTest

/// Proposals (exactly-once through the request ledger, Raft dissertation §6.3), refusals, and
/// ReadIndex reads (§6.4) on a placed 3-node cluster.
final class ShardHostProposalTests: XCTestCase {
    private let shard = ShardID(1)

    private func propose(_ c: ShardTestCluster, via id: NodeID, _ command: [UInt8], requestID: String, token: UInt64) throws -> ProposalAcceptance {
        try c.withHost(id) { try $0.propose(shard: shard, requestID: bytes(requestID), command: command, token: token) }
    }

    private func waitForReply(_ c: ShardTestCluster, _ id: NodeID, token: UInt64, file: StaticString = #filePath, line: UInt = #line) throws -> ShardReply.Outcome? {
        let answered = try c.run(maxTicks: 50) { c.reply(id, token: token) != nil }
        XCTAssertTrue(answered, "token \(token) answered", file: file, line: line)
        return c.reply(id, token: token)?.outcome
    }

    private func appliedReply(_ outcome: ShardReply.Outcome?) -> [UInt8]? {
        guard case let .applied(_, reply)? = outcome else { return nil }
        return reply
    }

    func testProposalToLeader_isAppliedOnEveryReplica_inTheSameOrder() throws {
        let c = try ShardTestCluster.placed(shards: 3)
        for i in 0..<10 {
            XCTAssertEqual(try propose(c, via: n1, put("k\(i % 4)", "v\(i)"), requestID: "r\(i)", token: UInt64(100 + i)), .proposed)
        }
        XCTAssertEqual(try propose(c, via: n1, ShardCommand.delete(key: bytes("k0")).encoded(), requestID: "d", token: 200), .proposed)
        for i in 0..<10 { XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: UInt64(100 + i))), [0]) }
        XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: 200)), [ShardState.Reply.done.rawValue])
        try c.tick(3)
        let expected = try XCTUnwrap(c.host(n1).machine(of: shard))
        XCTAssertEqual(expected.values[bytes("k1")], bytes("v9"))
        XCTAssertNil(expected.values[bytes("k0")])
        for id in [n2, n3] { XCTAssertEqual(c.host(id).machine(of: shard), expected, "\(id)") }
        // Other shards saw none of it.
        for id in [n1, n2, n3] { XCTAssertEqual(c.host(id).machine(of: ShardID(0)), ShardState(shard: ShardID(0))) }
        XCTAssertEqual(c.host(n1).counters.proposals, 11)
        XCTAssertTrue(c.member(n2).replies.isEmpty, "followers answer nobody: the proposal was not theirs")
    }

    func testRetryAfterApply_isAnsweredFromTheLedger_andNotAppliedAgain() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        XCTAssertEqual(try propose(c, via: n1, put("k", "v1"), requestID: "once", token: 1), .proposed)
        let first = try waitForReply(c, n1, token: 1)
        guard case let .applied(index, reply)? = first else { return XCTFail("\(String(describing: first))") }
        let applied = c.host(n1).counters.applied
        let state = c.host(n1).machine(of: shard)
        // The retry carries another body on purpose: it must not be looked at.
        XCTAssertEqual(try propose(c, via: n1, put("k", "v2"), requestID: "once", token: 2), .alreadyApplied(index: index, reply: reply))
        try c.tick(5)
        XCTAssertNil(c.reply(n1, token: 2), "answered at once, so never again")
        XCTAssertEqual(c.host(n1).counters.applied, applied)
        XCTAssertEqual(c.host(n1).counters.proposals, 1)
        XCTAssertEqual(c.host(n1).machine(of: shard), state)
        XCTAssertEqual(c.host(n1).machine(of: shard)?.values[bytes("k")], bytes("v1"))
    }

    func testRetryRacingIntoTheLog_isAppliedOnce_onEveryReplica_andBothGetTheFirstReply() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        XCTAssertEqual(try propose(c, via: n1, put("k", "v"), requestID: "put", token: 1), .proposed)
        XCTAssertNotNil(try waitForReply(c, n1, token: 1))
        // A delete is not idempotent: applied twice, the second would answer "absent".
        let delete = ShardCommand.delete(key: bytes("k")).encoded()
        XCTAssertEqual(try propose(c, via: n1, delete, requestID: "del", token: 2), .proposed)
        XCTAssertEqual(try propose(c, via: n1, delete, requestID: "del", token: 3), .proposed, "the first copy has not applied yet")
        XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: 2)), [ShardState.Reply.done.rawValue])
        XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: 3)), [ShardState.Reply.done.rawValue], "the retry gets the first reply")
        try c.tick(3)
        let leaderState = try XCTUnwrap(c.host(n1).machine(of: shard))
        for id in [n1, n2, n3] {
            let h = c.host(id)
            XCTAssertEqual(h.counters.duplicatesSuppressed, 1, "\(id)")
            XCTAssertEqual(h.machine(of: shard), leaderState, "\(id)")
            XCTAssertNil(h.machine(of: shard)?.values[bytes("k")])
        }
        // The revision is the index of the first delete, not of its copy.
        guard case let .applied(firstIndex, _)? = c.reply(n1, token: 2)?.outcome else { return XCTFail("the first delete was not applied") }
        XCTAssertEqual(leaderState.revision, firstIndex.value)
        // Now the ledger answers without the log.
        XCTAssertEqual(try propose(c, via: try XCTUnwrap(c.leader(of: shard)), delete, requestID: "del", token: 4),
                       .alreadyApplied(index: firstIndex, reply: [ShardState.Reply.done.rawValue]))
    }

    func testProposalWithoutRequestID_isAppliedEveryTime() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        let delete = ShardCommand.delete(key: bytes("k")).encoded()
        XCTAssertEqual(try propose(c, via: n1, put("k", "v"), requestID: "", token: 1), .proposed)
        XCTAssertEqual(try propose(c, via: n1, delete, requestID: "", token: 2), .proposed)
        XCTAssertEqual(try propose(c, via: n1, delete, requestID: "", token: 3), .proposed)
        XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: 2)), [ShardState.Reply.done.rawValue])
        XCTAssertEqual(appliedReply(try waitForReply(c, n1, token: 3)), [ShardState.Reply.absent.rawValue])
        XCTAssertEqual(c.host(n1).counters.duplicatesSuppressed, 0)
    }

    func testFollower_refusesWithNotLeader_namingTheLeader() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        for id in [n2, n3] {
            XCTAssertThrowsError(try propose(c, via: id, put("k", "v"), requestID: "r", token: 1)) {
                XCTAssertEqual($0 as? ShardRefusal, .notLeader(leader: n1))
            }
            XCTAssertThrowsError(try c.withHost(id) { try $0.read(shard: shard, token: 2) }) {
                XCTAssertEqual($0 as? ShardRefusal, .notLeader(leader: n1))
            }
        }
        XCTAssertEqual(c.host(n2).counters.proposals, 0)
    }

    /// While the leader hands leadership over, a proposal is refused as "leadership moving"
    /// (the agent routes it again shortly), not as overload (which clients see as a 503).
    func testLeaderHandingOver_refusesWithLeaderMoving_thenTheNewLeaderAccepts() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        try c.withHost(n1) { try $0.transferLeadership(shard: shard, to: n2) }
        XCTAssertThrowsError(try propose(c, via: n1, put("k", "v"), requestID: "r", token: 1)) {
            XCTAssertEqual($0 as? ShardRefusal, .leaderMoving(to: n2))
        }
        XCTAssertTrue(try c.run(maxTicks: 40) { c.leader(of: shard) == n2 })
        XCTAssertNoThrow(try propose(c, via: n2, put("k", "v"), requestID: "r", token: 2))
    }

    func testUnhostedShard_isRefusedWithNotHosted() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        XCTAssertThrowsError(try c.withHost(n1) { try $0.propose(shard: ShardID(9), requestID: [], command: [], token: 1) }) {
            XCTAssertEqual($0 as? ShardRefusal, .notHosted(ShardID(9)))
        }
        XCTAssertThrowsError(try c.withHost(n1) { try $0.read(shard: ShardID(9), token: 1) }) {
            XCTAssertEqual($0 as? ShardRefusal, .notHosted(ShardID(9)))
        }
    }

    func testGroupWithTooManyPendingProposals_refusesMoreAsOverloaded_untilTheyApply() throws {
        var settings = ShardHostSettings()
        settings.maxPendingProposals = 2
        let c = try ShardTestCluster.placed(shards: 2, settings: settings)
        try c.withHost(n1) { host in
            for t in 1...2 { XCTAssertEqual(try host.propose(shard: shard, requestID: bytes("r\(t)"), command: put("k", "v"), token: UInt64(t)), .proposed) }
            XCTAssertThrowsError(try host.propose(shard: shard, requestID: bytes("r3"), command: put("k", "v"), token: 3)) {
                guard case .overloaded? = $0 as? ShardRefusal else { return XCTFail("\($0)") }
            }
            // Another group is not affected.
            XCTAssertEqual(try host.propose(shard: ShardID(0), requestID: bytes("r4"), command: put("k", "v"), token: 4), .proposed)
        }
        XCTAssertNotNil(try waitForReply(c, n1, token: 2))
        XCTAssertEqual(try propose(c, via: n1, put("k", "v"), requestID: "r3", token: 5), .proposed)
    }

    func testTooLongRequestID_isRejected_andNothingIsAppended() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        let long = String(repeating: "x", count: CommandEnvelope.maxRequestIDBytes + 1)
        XCTAssertThrowsError(try propose(c, via: n1, put("k", "v"), requestID: long, token: 1)) {
            guard case .rejected? = $0 as? ShardRefusal else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(c.host(n1).counters.proposals, 0)
    }

    func testReadAfterAcknowledgedWrite_isReadable_andSeesTheWrite() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        XCTAssertEqual(try propose(c, via: n1, put("k", "v"), requestID: "w", token: 1), .proposed)
        XCTAssertNotNil(appliedReply(try waitForReply(c, n1, token: 1)))
        try c.withHost(n1) { try $0.read(shard: shard, token: 2) }
        // The leader confirms its leadership with a heartbeat round carrying the read's
        // context: those heartbeats travel uncoalesced.
        let flush = try XCTUnwrap(c.member(n1).flushes.last)
        XCTAssertTrue(flush.contains { b in b.messages.contains { if case let .heartbeat(h) = $0.message.body { return !h.context.isEmpty }; return false } },
                      "\(flush)")
        XCTAssertEqual(try waitForReply(c, n1, token: 2), .readable)
        XCTAssertEqual(c.host(n1).machine(of: shard)?.values[bytes("k")], bytes("v"))
    }

    func testLeaderLosingLeadership_answersPendingProposalsUnknown_andTheRetryAppliesOnce() throws {
        let c = try ShardTestCluster.placed(shards: 2)
        c.isolate(n1)
        XCTAssertEqual(try propose(c, via: n1, put("k", "lost?"), requestID: "r", token: 1), .proposed)
        try c.withHost(n1) { try $0.read(shard: shard, token: 2) }
        // Check-quorum deposes the cut-off leader; the others elect a new one.
        let answered = try c.run(maxTicks: 80) { c.reply(n1, token: 1) != nil && c.leader(of: shard) != nil && c.leader(of: shard) != n1 }
        XCTAssertTrue(answered)
        guard case .unknown? = c.reply(n1, token: 1)?.outcome else { return XCTFail("\(String(describing: c.reply(n1, token: 1)))") }
        guard case .unknown? = c.reply(n1, token: 2)?.outcome else { return XCTFail("\(String(describing: c.reply(n1, token: 2)))") }
        c.recover()
        let newLeader = try XCTUnwrap(c.leader(of: shard))
        XCTAssertEqual(try propose(c, via: newLeader, put("k", "retried"), requestID: "r", token: 3), .proposed)
        XCTAssertNotNil(appliedReply(try waitForReply(c, newLeader, token: 3)))
        try c.tick(10)
        for id in [n1, n2, n3] {
            XCTAssertEqual(c.host(id).machine(of: shard)?.values[bytes("k")], bytes("retried"), "\(id): the cut-off entry was replaced")
        }
        XCTAssertEqual(c.member(n1).replies.filter { $0.token == 1 }.count, 1, "still exactly one answer")
    }

    /// A read's token is its ReadIndex context: a token already waiting, even on another
    /// shard, is refused — taken, its ReadState would answer the other read, and one of the
    /// two would never get its reply.
    func testRead_withATokenAlreadyWaiting_isRefused_andTheFirstIsAnsweredOnce() throws {
        let c = try ShardTestCluster.placed(shards: 4)
        // Four groups on three nodes: some node leads two of them.
        let led = (0..<4).map { ShardID($0) }.compactMap { s in c.leader(of: s).map { (s, $0) } }
        let pair = try XCTUnwrap(led.first { a in led.contains { $0.1 == a.1 && $0.0 != a.0 } })
        let first = pair.0, leader = pair.1
        let second = try XCTUnwrap(led.first { $0.1 == leader && $0.0 != first }).0
        try c.withHost(leader) { try $0.read(shard: first, token: 7) }
        XCTAssertThrowsError(try c.withHost(leader) { try $0.read(shard: second, token: 7) }) {
            guard case .rejected? = $0 as? ShardRefusal else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try waitForReply(c, leader, token: 7), .readable)
        try c.tick(10)
        XCTAssertEqual(c.member(leader).replies.filter { $0.token == 7 }.map(\.shard), [first], "one answer, for the read accepted")
    }
}
