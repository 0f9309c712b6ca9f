import Testing
@testable import ChorusRaft

@Suite struct TransferTests {
    @Test func transfer_toAnUpToDateFollower_makesItLeader() throws {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "x")
        try net[1].transferLeadership(to: NodeID(2))
        net.flush()
        #expect(net[2].role == .leader && net[2].term == Term(2))
        #expect(net[1].role == .follower && net[1].leader == NodeID(2))
    }

    @Test func transfer_toALaggingFollower_catchesItUpFirst() throws {
        let net = Network(3)
        net.campaign(1)
        net.cut(1, 3)
        try net.propose(1, "x")
        try net.propose(1, "y")
        net.recover()
        try net[1].transferLeadership(to: NodeID(3))
        net.flush()
        #expect(net[3].role == .leader)
        #expect(net.commands(3) == ["x", "y"])
    }

    @Test func transfer_inProgress_refusesProposalsUntilItTimesOut() throws {
        let net = Network(3)
        net.campaign(1)
        net.isolate(3)
        try net[1].transferLeadership(to: NodeID(3))
        net.flush()
        #expect(throws: RaftError.transferInProgress(to: NodeID(3))) { try net.propose(1, "x") }
        net.tick(1, net.settings.electionTicks)
        #expect(net[1].role == .leader)
        try net.propose(1, "x")
        #expect(net.commands(2) == ["x"])
    }

    @Test func transfer_toSelfOrALearnerOrFromAFollower_isRefused() {
        let net = Network(3, learners: [4])
        net.campaign(1)
        #expect(throws: RaftError.invalidTransferTarget(NodeID(1))) { try net[1].transferLeadership(to: NodeID(1)) }
        #expect(throws: RaftError.invalidTransferTarget(NodeID(4))) { try net[1].transferLeadership(to: NodeID(4)) }
        #expect(throws: RaftError.notLeader(leader: NodeID(1))) { try net[2].transferLeadership(to: NodeID(3)) }
    }

    @Test func transfer_skipsTheLeaseOfFollowers() throws {
        // With check-quorum, followers ignore vote requests while they hear from a leader;
        // a transfer's election is marked so that they do not.
        let net = Network(5)
        net.campaign(1)
        try net[1].transferLeadership(to: NodeID(4))
        net.flush()
        #expect(net[4].role == .leader)
    }
}
