import Testing
@testable import ChorusRaft

@Suite struct ElectionTests {
    @Test func threeNodes_whenOneCampaigns_itBecomesLeaderAndCommitsNoop() {
        let net = Network(3)
        net.campaign(1)
        #expect(net[1].role == .leader)
        #expect(net[1].term == Term(1))
        #expect(net[2].leader == NodeID(1) && net[3].leader == NodeID(1))
        #expect(net[1].log.committed == LogIndex(1))
        for id in 1...3 as ClosedRange<UInt64> { #expect(net.peer(id).applied.map(\.payload) == [.noop]) }
    }

    @Test func followers_whenElectionTimeoutPasses_oneBecomesLeader() {
        let net = Network(5)
        net.tickAll(40)
        #expect(net.leaders.count == 1)
    }

    @Test func proposal_onLeader_isReplicatedAndAppliedEverywhere() throws {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "x=1")
        try net.propose(1, "y=2")
        for id in 1...3 as ClosedRange<UInt64> { #expect(net.commands(id) == ["x=1", "y=2"]) }
    }

    @Test func proposal_onFollower_isRefusedWithLeaderHint() {
        let net = Network(3)
        net.campaign(1)
        #expect(throws: RaftError.notLeader(leader: NodeID(1))) { try net.propose(2, "x") }
    }
}
