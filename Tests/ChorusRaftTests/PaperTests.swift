import Testing
@testable import ChorusRaft

/// One test or more per safety property of the Raft paper (Figure 3) and the scenarios of
/// Figures 7 and 8. Settings are the paper's (no pre-vote, no check-quorum) unless a test
/// says otherwise.
@Suite struct PaperTests {
    // MARK: §5.2 Election Safety: at most one leader can be elected in a given term.

    @Test func electionSafety_twoCandidatesInOneTerm_atMostOneWins() {
        for order in [[1, 2], [2, 1]] as [[UInt64]] {
            let net = Network(5, settings: .paper)
            // Both time out together: both are candidates in term 1 before any vote arrives.
            for id in order { net[id].campaign() }
            net.flush()
            let leaders = net.leaders
            #expect(leaders.count <= 1)
            for id in net.ids { #expect(net.peers[id]!.node!.term == Term(1)) }
        }
    }

    @Test func electionSafety_aVoterGrantsOneVotePerTerm() {
        let net = Network(3, settings: .paper)
        var voter = net[3]
        let request = VoteRequest(lastIndex: .zero, lastTerm: .zero, preVote: false, transfer: false)
        voter.step(Message(from: NodeID(1), to: NodeID(3), term: Term(1), body: .voteRequest(request)))
        voter.step(Message(from: NodeID(2), to: NodeID(3), term: Term(1), body: .voteRequest(request)))
        let answers = voter.ready().messages.compactMap { m -> Bool? in
            if case let .voteResponse(r) = m.body { return r.granted }; return nil
        }
        #expect(answers == [true, false])
        #expect(voter.vote == NodeID(1))
    }

    @Test func electionSafety_splitVotes_neverTwoLeadersInATerm() {
        // Many randomized elections with message loss: record every leader per term.
        for seed in 1...20 as ClosedRange<UInt64> {
            let net = Network(5, settings: .paper)
            var leaderOfTerm: [Term: NodeID] = [:]
            var rng = SeededRandomDrops(seed: seed)
            net.filter = { _ in rng.keep() }
            for _ in 0..<60 {
                net.tickAll()
                for id in net.leaders {
                    let t = net.peers[id]!.node!.term
                    #expect(leaderOfTerm[t, default: id] == id)
                    leaderOfTerm[t] = id
                }
                if Bool.random(using: &rng.rng) { net.releaseHeld() }
            }
        }
    }

    // MARK: §5.3 Leader Append-Only: a leader never overwrites or deletes its entries.

    @Test func leaderAppendOnly_staleOrConflictingAppends_neverChangeLeaderLog() throws {
        let net = Network(3, settings: .paper)
        net.campaign(1)
        try net.propose(1, "a")
        try net.propose(1, "b")
        let before = net.logIDs(1)
        var leader = net[1]
        // An AppendEntries of the same term (impossible from a correct peer) and one of an
        // older term, both trying to overwrite index 2.
        let conflicting = AppendEntries(prevIndex: LogIndex(1), prevTerm: Term(1),
                                        entries: [Entry(index: LogIndex(2), term: Term(1), payload: .command([9]))], commit: .zero)
        leader.step(Message(from: NodeID(2), to: NodeID(1), term: Term(1), body: .appendEntries(conflicting)))
        leader.step(Message(from: NodeID(2), to: NodeID(1), term: Term(0), body: .appendEntries(conflicting)))
        #expect(leader.role == .leader)
        net[1] = leader
        net.flush()
        try net.propose(1, "c")
        let after = net.logIDs(1)
        #expect(Array(after.prefix(before.count)) == before)
        #expect(after.count == before.count + 1)
    }

    // MARK: §5.3 Log Matching, Figure 7: the leader brings every follower's log to its own.

    static let figure7Leader: [UInt64] = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    static let figure7Followers: [(String, [UInt64])] = [
        ("a", [1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", [1, 1, 1, 4]),
        ("c", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", [1, 1, 1, 4, 4, 4, 4]),
        ("f", [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ]

    @Test(arguments: 0..<6)
    func logMatching_figure7_everyFollowerEndsWithTheLeadersLog(_ scenario: Int) {
        let (_, followerLog) = Self.figure7Followers[scenario]
        let net = Network(0 + 1, settings: .paper)
        net.add(NodeID(1), restoring: persisted(term: 7, log: Self.figure7Leader, voters: [1, 2, 3]))
        net.add(NodeID(2), restoring: persisted(term: 7, log: followerLog, voters: [1, 2, 3]))
        net.add(NodeID(3), restoring: persisted(term: 7, log: Self.figure7Leader, voters: [1, 2, 3]))
        net.campaign(1)
        #expect(net[1].role == .leader)
        #expect(net[1].term == Term(8))
        let leaderLog = net.logIDs(1)
        #expect(leaderLog.count == 11) // Figure 7's ten entries and the new leader's noop
        #expect(net.logIDs(2) == leaderLog)
        #expect(net[2].log.committed == LogIndex(11))
    }

    @Test func logMatching_sameIndexAndTerm_meansSamePrefix() throws {
        // After a run with leader changes, any two logs agreeing on an entry agree before it.
        let net = Network(5, settings: .paper)
        net.campaign(1)
        try net.propose(1, "a")
        net.isolate(1)
        _ = try? net.propose(1, "lost")
        net.campaign(2)
        try net.propose(2, "b")
        net.recover()
        net.tickAll(3)
        try net.propose(2, "c")
        for a in net.ids {
            for b in net.ids where a < b {
                let la = net.logIDs(a.value), lb = net.logIDs(b.value)
                for (i, e) in la.enumerated() where i < lb.count && lb[i] == e {
                    #expect(Array(la[...i]) == Array(lb[...i]))
                }
            }
        }
        #expect(net.commands(1) == ["a", "b", "c"])
    }

    // MARK: §5.4 Leader Completeness: a leader holds every entry committed before its term.

    @Test func leaderCompleteness_nodeMissingACommittedEntry_cannotBeElected() throws {
        let net = Network(3, settings: .paper)
        net.campaign(1)
        net.cut(1, 3)
        try net.propose(1, "committed")
        #expect(net[1].log.committed == LogIndex(2)) // on n1 and n2: a majority
        net.isolate(1)
        net.campaign(3) // n3 lacks index 2: n2 refuses, n3 cannot win
        #expect(net[3].role != .leader)
        net.campaign(2)
        #expect(net[2].role == .leader)
        #expect(net.commands(2) == ["committed"])
        net.recover()
        net.tickAll(2)
        #expect(net.commands(3) == ["committed"])
    }

    // MARK: §5.4.3 State Machine Safety: no two nodes apply different entries at one index.

    @Test func stateMachineSafety_appliedSequencesArePrefixesOfEachOther() throws {
        let net = Network(5, settings: .paper)
        net.campaign(1)
        try net.propose(1, "a")
        net.cut(1, 2); net.cut(1, 3); net.cut(1, 4)
        _ = try? net.propose(1, "uncommitted-1") // reaches only n5
        net.isolate(1)
        net.campaign(2)
        try net.propose(2, "b")
        net.recover()
        net.tickAll(5)
        try net.propose(2, "c")
        let reference = net.peer(2).applied.map(\.id)
        for id in net.ids {
            let applied = net.peers[id]!.applied.map(\.id)
            let shorter = min(applied.count, reference.count)
            #expect(Array(applied.prefix(shorter)) == Array(reference.prefix(shorter)))
            #expect(!net.commands(id.value).contains("uncommitted-1"))
        }
    }

    // MARK: §5.4.2 Figure 8: never commit an entry of an earlier term by counting replicas.

    /// The state of Figure 8 (b)→(c): S1 held 2@2 and restarts; S5 holds 2@3.
    private func figure8() -> Network {
        var settings = RaftSettings.paper
        settings.maxMessageBytes = 1 // one entry per AppendEntries, so replication is stepwise
        let net = Network(0 + 1, settings: settings)
        let voters: [UInt64] = [1, 2, 3, 4, 5]
        net.add(NodeID(1), restoring: persisted(term: 3, log: [1, 2], voters: voters, commit: 1))
        net.add(NodeID(2), restoring: persisted(term: 2, log: [1, 2], voters: voters, commit: 1))
        net.add(NodeID(3), restoring: persisted(term: 3, log: [1], voters: voters, vote: 5, commit: 1))
        net.add(NodeID(4), restoring: persisted(term: 3, log: [1], voters: voters, vote: 5, commit: 1))
        net.add(NodeID(5), restoring: persisted(term: 3, log: [1, 3], voters: voters, vote: 5, commit: 1))
        return net
    }

    @Test func figure8_entryOfEarlierTermOnAMajority_isNotCommittedAndMayBeOverwritten() {
        let net = figure8()
        net.isolate(5) // S5 is down
        // (c) S1 is elected in term 4; it replicates 2@2 but entries of term 4 are held back.
        net.rewrite = { m in
            guard case var .appendEntries(a) = m.body else { return m }
            a.entries = a.entries.filter { $0.term != Term(4) }
            var stripped = m
            stripped.body = .appendEntries(a)
            return stripped
        }
        net.cut(1, 4)
        net.campaign(1)
        #expect(net[1].role == .leader && net[1].term == Term(4))
        #expect(net.logIDs(3).map(\.term) == [Term(1), Term(2)]) // 2@2 is on S1, S2, S3: a majority
        #expect(net[1].log.committed == LogIndex(1))               // …and still not committed
        for id in net.ids { #expect(net.peers[id]!.applied.allSatisfy { $0.index < LogIndex(2) }) }

        // (d) S1 crashes; S5 is elected with votes from S2, S3, S4 and overwrites index 2.
        net.crash(1)
        net.recover()
        for _ in 0..<3 where net[5].role != .leader { net.campaign(5) }
        #expect(net[5].role == .leader)
        for id in [2, 3, 4] as [UInt64] { #expect(net.logIDs(id)[1] == EntryID(index: LogIndex(2), term: Term(3))) }
        for id in [2, 3, 4, 5] as [UInt64] {
            #expect(!net.peer(id).applied.contains { $0.id == EntryID(index: LogIndex(2), term: Term(2)) })
        }
    }

    @Test func figure8_currentTermEntryOnAMajority_commitsTheEarlierOneWithIt() {
        let net = figure8()
        net.isolate(5)
        net.cut(1, 4)
        net.campaign(1)
        // (e) 3@4 reaches S2 and S3 as well: 2@2 and 3@4 commit together.
        #expect(net[1].log.committed == LogIndex(3))
        #expect(net.peer(1).applied.map(\.id.term) == [Term(1), Term(2), Term(4)])
        net.crash(1)
        net.recover()
        net.campaign(5) // S5's log (last term 3) is behind S2's and S3's (term 4): it loses
        net.campaign(5)
        #expect(net[5].role != .leader)
    }
}

/// A seeded coin for dropping messages in `Network.filter`.
struct SeededRandomDrops {
    var rng: SeededRandomWrapper
    init(seed: UInt64) { rng = SeededRandomWrapper(seed: seed) }
    mutating func keep() -> Bool { rng.next() % 5 != 0 }
}

import ChorusBase
struct SeededRandomWrapper: RandomNumberGenerator {
    var inner: SeededRandom
    init(seed: UInt64) { inner = SeededRandom(seed: seed) }
    mutating func next() -> UInt64 { inner.next() }
}
