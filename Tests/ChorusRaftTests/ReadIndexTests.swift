import Testing
@testable import ChorusRaft

@Suite struct ReadIndexTests {
    @Test func leaderRead_afterAHeartbeatQuorum_getsTheCommitIndex() throws {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "x")
        net[1] = { var n = net[1]; try! n.readIndex(context: [7]); return n }()
        net.flush()
        #expect(net.peer(1).readStates == [ReadState(index: LogIndex(2), context: [7])])
    }

    @Test func leaderRead_cutOffFromTheMajority_isNeverAnswered() throws {
        let net = Network(3)
        net.campaign(1)
        net.isolate(1)
        try net[1].readIndex(context: [1])
        net.tick(1, 2 * net.settings.electionTicks - 1)
        #expect(net.peer(1).readStates.isEmpty)
        net.tick(1, 1)
        #expect(net[1].role == .follower) // and the pending read is dropped with leadership
        net.recover()
        net.tickAll(3)
        #expect(net.peer(1).readStates.isEmpty)
    }

    @Test func followerRead_isForwardedToTheLeaderAndAnswered() throws {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "x")
        try net[2].readIndex(context: [2])
        net.flush()
        #expect(net.peer(2).readStates == [ReadState(index: LogIndex(2), context: [2])])
    }

    @Test func newLeaderRead_waitsForAnEntryOfItsTermToCommit() throws {
        let net = Network(3)
        net.drop("appResp")
        net.campaign(1)
        #expect(net[1].role == .leader && net[1].log.committed == .zero)
        try net[1].readIndex(context: [3])
        net.tickAll(2)
        #expect(net.peer(1).readStates.isEmpty)
        net.recover()
        net.tickAll(2)
        #expect(net.peer(1).readStates == [ReadState(index: LogIndex(1), context: [3])])
    }

    @Test func oneConfirmation_releasesEveryEarlierRead() throws {
        let net = Network(3)
        net.campaign(1)
        net.drop("heartbeatResp")
        try net[1].readIndex(context: [1])
        try net[1].readIndex(context: [2])
        net.flush()
        #expect(net.peer(1).readStates.isEmpty)
        net.recover()
        net.tick(1) // the heartbeat carries the latest context only
        #expect(net.peer(1).readStates.map(\.context) == [[1], [2]])
    }

    @Test func read_withoutALeader_orWithABadContext_isRefused() {
        let net = Network(3)
        #expect(throws: RaftError.noLeader) { try net[2].readIndex(context: [1]) }
        net.campaign(1)
        #expect(throws: RaftError.invalidReadContext(bytes: 0)) { try net[1].readIndex(context: []) }
    }

    @Test func singleVoter_answersAtOnce() throws {
        let net = Network(1)
        net.campaign(1)
        try net[1].readIndex(context: [9])
        net.flush()
        #expect(net.peer(1).readStates == [ReadState(index: LogIndex(1), context: [9])])
    }
}
