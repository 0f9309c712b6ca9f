import Testing
@testable import ChorusRaft

/// Raft dissertation §10.2.1: a leader may send AppendEntries before its own fsync, but only
/// in a term whose HardState (term, vote) is already durable (`Ready.earlyMessages`).
@Suite struct EarlyMessagesTests {
    /// A single voter with a learner, restarted in term 1.
    private func singleVoterWithLearner() throws -> RaftNode {
        let state = PersistedState(hardState: HardState(term: Term(1), vote: NodeID(1), commit: .zero),
                                   snapshot: .bootstrap(Configuration(voters: [NodeID(1)], learners: [NodeID(2)])), entries: [])
        return try RaftNode(id: NodeID(1), seed: 7, restoring: state)
    }

    @Test func singleVoterElectedWithinOneStep_sendsItsAppendsOnlyAfterTheNewTermIsPersisted() throws {
        var node = try singleVoterWithLearner()
        node.campaign()
        #expect(node.role == .leader)
        let ready = node.ready()
        #expect(ready.hardState?.term == node.term, "the new term is still to be persisted")
        #expect(ready.earlyMessages.isEmpty, "nothing of an unpersisted term leaves early")
        #expect(ready.messages.contains { m in
            if case .appendEntries = m.body { return m.to == NodeID(2) && m.term == node.term }; return false
        })
        node.advance(ready)
    }

    @Test func leaderOfADurableTerm_sendsNewEntriesEarly_andCountsThemOnlyAfterAdvance() throws {
        var node = try singleVoterWithLearner()
        node.campaign()
        node.advance(node.ready())
        // The learner answers the probe, so the leader streams to it.
        node.step(Message(from: NodeID(2), to: NodeID(1), term: node.term,
                          body: .appendResponse(AppendResponse(reject: false, index: node.log.lastIndex))))
        if node.hasReady { node.advance(node.ready()) }
        let id = try node.propose([42])
        let ready = node.ready()
        #expect(ready.entries.map(\.index) == [id.index])
        #expect(ready.earlyMessages.contains { m in
            if case let .appendEntries(a) = m.body { return a.entries.map(\.index) == [id.index] }; return false
        })
        #expect(!ready.messages.contains { $0.isReplication }, "the leader's replication all leaves early")
        #expect(node.log.committed < id.index)
        node.advance(ready)
        #expect(node.log.committed == id.index)
    }

    @Test func candidateVoteRequests_waitForTheVoteToBePersisted() throws {
        var node = try RaftNode(id: NodeID(1), settings: .paper, seed: 3,
                                restoring: .bootstrap(Configuration(voters: [NodeID(1), NodeID(2), NodeID(3)])))
        node.campaign()
        let ready = node.ready()
        #expect(ready.earlyMessages.isEmpty)
        #expect(ready.messages.count == 2)
    }
}
