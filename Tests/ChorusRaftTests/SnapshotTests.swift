import Testing
@testable import ChorusRaft

@Suite struct SnapshotTests {
    /// n1 leads, n3 is cut off while 10 commands commit, then n1 compacts its log.
    private func laggingGroup() throws -> Network {
        let net = Network(3)
        net.campaign(1)
        net.isolate(3)
        for i in 0..<10 { try net.propose(1, "c\(i)") }
        let applied = net[1].log.applied
        try net.compact(1)
        #expect(net[1].log.firstIndex == applied + 1)
        return net
    }

    @Test func laggingFollower_getsTheSnapshot_andRestoresFromIt() throws {
        let net = try laggingGroup()
        net.recover()
        net.tickAll(3)
        let n3 = net.peer(3)
        #expect(n3.restoredSnapshots.map(\.index) == [LogIndex(11)])
        #expect(net[3].log.snapshotIndex == LogIndex(11))
        try net.propose(1, "after")
        #expect(net.commands(3) == ["after"])
        #expect(net[3].log.committed == net[1].log.committed)
    }

    @Test func lostSnapshot_isSentAgain() throws {
        let net = try laggingGroup()
        net.recover()
        net.drop("snap")
        net.tickAll(3)
        #expect(net[3].log.snapshotIndex == .zero)
        net.recover()
        net.tickAll(2 * net.settings.electionTicks)
        #expect(net[3].log.snapshotIndex == LogIndex(11))
    }

    @Test func compaction_beyondApplied_isRefused() throws {
        let net = Network(3)
        net.campaign(1)
        #expect(throws: RaftError.self) { try net[1].compact(through: LogIndex(5), data: []) }
        #expect(throws: RaftError.self) { try net[1].compact(through: .zero, data: []) }
    }

    @Test func restart_afterCompaction_comesBackFromSnapshotAndEntries() throws {
        let net = try laggingGroup()
        try net.propose(1, "tail")
        net.crash(1)
        net.restart(1)
        #expect(net[1].log.snapshotIndex == LogIndex(11))
        #expect(net[1].log.lastIndex == LogIndex(12))
        #expect(net[1].log.committed == LogIndex(12))
        net.flush()
        // The image covers c0…c9; only the entry after it is applied again.
        #expect(net.commands(1) == (0..<10).map { "c\($0)" } + ["tail"])
    }

    @Test func newMember_addedAfterCompaction_startsFromTheSnapshot() throws {
        let net = try laggingGroup()
        net.recover()
        net.add(NodeID(4), configuration: .empty)
        try net[1].proposeConfChange(.addLearner(NodeID(4)))
        net.flush()
        net.tickAll(3)
        #expect(net[4].log.snapshotIndex == LogIndex(11))
        #expect(net[4].configuration.learners == ids([4]))
        #expect(net[4].log.committed == net[1].log.committed)
    }

    @Test func snapshotWhoseLastEntryIsHeld_onlyAdvancesCommit() throws {
        let net = Network(3)
        net.campaign(1)
        try net.propose(1, "a")
        var n2 = net[2]
        let s = Snapshot(metadata: SnapshotMetadata(index: LogIndex(2), term: Term(1), configuration: n2.configuration), data: [])
        n2.step(Message(from: NodeID(1), to: NodeID(2), term: Term(1), body: .installSnapshot(s)))
        #expect(n2.log.snapshotIndex == .zero)
        #expect(n2.log.committed == LogIndex(2))
    }
}
