import Testing
@testable import ChorusRaft

@Suite struct MembershipTests {
    /// A 3-voter group led by n1 with a committed command, and n4 started empty.
    private func groupWithNewcomer() throws -> Network {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "before")
        net.add(NodeID(4), configuration: .empty)
        return net
    }

    private func change(_ net: Network, _ c: ConfChange) throws {
        try net[1].proposeConfChange(c)
        net.flush()
    }

    @Test func addLearner_catchesUpButNeitherVotesNorCounts() throws {
        let net = try groupWithNewcomer()
        try change(net, .addLearner(NodeID(4)))
        #expect(net[4].configuration == Configuration(voters: ids([1, 2, 3]), learners: ids([4])))
        #expect(net.commands(4) == ["before"])
        #expect(!net[4].isPromotable)
        net.tick(4, 50)
        #expect(net[4].role == .follower && net[4].term == Term(1))
        // Quorum is still 2 of the 3 voters: with n2 and n3 gone nothing commits.
        net.isolate(2); net.isolate(3)
        let commit = net[1].log.committed
        _ = try? net.propose(1, "needs-a-voter")
        #expect(net[1].log.committed == commit)
    }

    @Test func promote_caughtUpLearner_becomesAVoter() throws {
        let net = try groupWithNewcomer()
        try change(net, .addLearner(NodeID(4)))
        try change(net, .promote(NodeID(4)))
        for id in 1...4 as ClosedRange<UInt64> { #expect(net[id].configuration.voters == ids([1, 2, 3, 4])) }
        // Now a majority is 3 of 4: n1 and n4 alone cannot commit, n1, n2 and n4 can.
        net.isolate(2); net.isolate(3)
        let commit = net[1].log.committed
        _ = try? net.propose(1, "a")
        #expect(net[1].log.committed == commit)
        net.recover()
        net.isolate(3)
        net.tickAll(2)
        #expect(net.commands(4) == ["before", "a"])
    }

    @Test func promote_learnerBehind_isRefused() throws {
        let net = try groupWithNewcomer()
        net.isolate(4)
        try change(net, .addLearner(NodeID(4)))
        #expect(throws: RaftError.self) { try net[1].proposeConfChange(.promote(NodeID(4))) }
    }

    @Test func secondChange_whileTheFirstIsInFlight_isRefused() throws {
        let net = try groupWithNewcomer()
        net.isolate(2); net.isolate(3)
        let first = try net[1].proposeConfChange(.addLearner(NodeID(4)))
        net.flush()
        #expect(throws: RaftError.configurationChangeInFlight(index: first.index)) {
            try net[1].proposeConfChange(.addLearner(NodeID(5)))
        }
        net.recover()
        net.tickAll(2)
        try change(net, .addLearner(NodeID(5))) // once committed, the next one is accepted
    }

    @Test func change_beforeTheLeaderCommittedInItsTerm_isRefused() {
        let net = Network(3)
        net.drop("appResp")
        net.campaign(1)
        #expect(throws: RaftError.noCommitInCurrentTerm) { try net[1].proposeConfChange(.addLearner(NodeID(4))) }
    }

    @Test func invalidChanges_areRefused() throws {
        let net = try groupWithNewcomer()
        #expect(throws: RaftError.self) { try net[1].proposeConfChange(.promote(NodeID(2))) }
        #expect(throws: RaftError.self) { try net[1].proposeConfChange(.addLearner(NodeID(2))) }
        #expect(throws: RaftError.self) { try net[1].proposeConfChange(.remove(NodeID(9))) }
        let single = Network(1)
        single.campaign(1)
        #expect(throws: RaftError.self) { try single[1].proposeConfChange(.remove(NodeID(1))) }
    }

    @Test func removeFollower_shrinksTheQuorum() throws {
        let net = Network(3)
        net.campaign(1)
        try change(net, .remove(NodeID(3)))
        #expect(net[1].configuration.voters == ids([1, 2]))
        net.isolate(3)
        try net.propose(1, "x")
        #expect(net.commands(2) == ["x"])
        #expect(!net[3].isPromotable || net[3].configuration.voters.count == 3)
    }

    @Test func removeLeader_itStepsDownOnceCommittedAndAnotherLeads() throws {
        let net = Network(3)
        net.campaign(1)
        try change(net, .remove(NodeID(1)))
        #expect(net[1].role == .follower)
        #expect(!net[1].isPromotable)
        net.tickAll(3 * net.settings.electionTicks)
        let leaders = net.leaders
        #expect(leaders.count == 1 && leaders != ids([1]))
        let leader = leaders[0].value
        try net.propose(leader, "after")
        #expect(net.commands(leader == 2 ? 3 : 2).last == "after")
    }

    @Test func configurationEntry_takesEffectWhenAppended_andIsUndoneWhenTruncated() throws {
        let net = Network(3, settings: .paper)
        net.campaign(1)
        net.cut(1, 3)
        net.drop("appResp") // n2 appends the entry, nobody learns it: uncommitted
        try net[1].proposeConfChange(.addLearner(NodeID(4)))
        net.flush()
        #expect(net[2].configuration.learners == ids([4]))   // in effect on append
        #expect(net[2].log.committed < net[2].configurationIndex)
        net.recover()
        net.isolate(1)
        net.campaign(3) // n3 never saw it; n2's log is longer, so n2 must win instead
        net.campaign(2)
        #expect(net[2].role == .leader)
        // n2 is the new leader and keeps the entry: it commits with n2's noop.
        #expect(net[2].configuration.learners == ids([4]))
        // Now the undo case: n3 holds an uncommitted change that n2's log overwrites.
        let other = Network(3, settings: .paper)
        other.campaign(3)
        other.cut(3, 1); other.cut(3, 2)
        try other[3].proposeConfChange(.addLearner(NodeID(9)))
        other.flush()
        #expect(other[3].configuration.learners == ids([9]))
        other.recover()
        other.isolate(3)
        other.campaign(1)
        try other.propose(1, "overwrite")
        other.recover()
        other.tick(1, 2)
        #expect(other[3].configuration.learners.isEmpty)
        #expect(other.commands(3) == ["overwrite"])
    }
}
