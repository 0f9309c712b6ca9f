import Testing
@testable import ChorusRaft

@Suite struct PreVoteAndCheckQuorumTests {
    @Test func preVote_partitionedNodeRejoining_doesNotDisruptTheLeader() throws {
        let net = Network(3)
        net.campaign(1)
        net.isolate(3)
        net.tick(3, 100) // many election timeouts alone
        #expect(net[3].term == Term(1)) // pre-votes never won, so the term never moved
        try net.propose(1, "x")
        net.recover()
        net.tickAll(5)
        #expect(net[1].role == .leader && net[1].term == Term(1))
        #expect(net.commands(3) == ["x"])
    }

    @Test func withoutPreVote_partitionedNodeRejoining_forcesANewElection() {
        let net = Network(3, settings: .paper)
        net.campaign(1)
        net.isolate(3)
        net.tick(3, 100)
        #expect(net[3].term > Term(5))
        net.recover()
        net.tickAll(2 * net.settings.electionTicks)
        #expect(net[1].term > Term(1)) // the old leader had to step down (what pre-vote prevents)
    }

    @Test func checkQuorum_leaderCutOffFromTheMajority_stepsDown() {
        let net = Network(3)
        net.campaign(1)
        net.isolate(1)
        // The first check may still count answers from before the cut; the second cannot.
        net.tick(1, net.settings.electionTicks)
        net.tick(1, net.settings.electionTicks)
        #expect(net[1].role == .follower)
    }

    @Test func checkQuorum_leaderHearingTheMajority_staysLeader() {
        let net = Network(5)
        net.campaign(1)
        net.isolate(5)
        net.isolate(4)
        net.tickAll(5 * net.settings.electionTicks) // n1, n2, n3 still a majority
        #expect(net[1].role == .leader && net[1].term == Term(1))
    }

    @Test func checkQuorum_followersHearingALeader_ignoreVoteRequests() {
        var settings = RaftSettings()
        settings.preVote = false
        let net = Network(3, settings: settings)
        net.campaign(1)
        net.campaign(3) // a disruptive candidate in term 2
        #expect(net[3].role == .candidate)
        #expect(net[1].role == .leader && net[1].term == Term(1))
        #expect(net[2].term == Term(1))
    }

    @Test func staleLeaderRejoining_learnsTheNewTermAndStepsDown() throws {
        var settings = RaftSettings()
        settings.checkQuorum = false // so the isolated leader keeps believing it leads
        let net = Network(3, settings: settings)
        net.campaign(1)
        net.isolate(1)
        net.tick(2, 3 * settings.electionTicks)
        net.tick(3, 3 * settings.electionTicks)
        #expect(net.leaders.count == 2) // n1 (term 1, stale) and the new one
        net.recover()
        net.tick(1) // its heartbeat is answered with the newer term
        #expect(net.leaders.count == 1)
        #expect(net[1].role == .follower && net[1].term > Term(1))
    }
}
