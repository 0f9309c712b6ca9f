import Testing
@testable import ChorusRaft

@Suite struct ReplicationTests {
    private func appends(_ net: Network, to id: UInt64) -> [AppendEntries] {
        net.delivered.compactMap { m in
            if case let .appendEntries(a) = m.body, m.to == NodeID(id) { return a }; return nil
        }
    }

    @Test func batching_manyProposalsBeforeAReady_travelInOneAppend() throws {
        let net = Network(3)
        net.campaign(1)
        let before = appends(net, to: 2).count
        for i in 0..<100 { try net[1].propose(Array("p\(i)".utf8)) }
        net.flush()
        let sent = appends(net, to: 2).dropFirst(before)
        #expect(sent.map(\.entries.count).max() == 100)
        #expect(net.commands(2).count == 100)
    }

    @Test func maxMessageBytes_splitsBatches() throws {
        var settings = RaftSettings()
        settings.maxMessageBytes = 200
        let net = Network(3, settings: settings)
        net.campaign(1)
        let before = appends(net, to: 2).count
        for i in 0..<100 { try net[1].propose(Array("p\(i)".utf8)) }
        net.flush()
        let sent = Array(appends(net, to: 2).dropFirst(before))
        #expect(sent.count >= 10)
        for a in sent where a.entries.count > 1 { #expect(a.entries.reduce(0) { $0 + $1.byteCount } <= 200) }
        #expect(net.commands(2).count == 100)
    }

    @Test func inflightCap_pausesPipelinedReplicationUntilAcknowledged() throws {
        var settings = RaftSettings()
        settings.maxInflightMessages = 2
        let net = Network(3, settings: settings)
        net.campaign(1)
        net.drop("appResp")
        let before = appends(net, to: 2).count
        for i in 0..<10 { try net.propose(1, "p\(i)") } // one Ready each: one append each
        #expect(appends(net, to: 2).count - before == 2)
        #expect(net[1].progress(of: NodeID(2))?.state == .replicate)
        net.recover()
        net.tickAll(3)
        #expect(net.commands(2).count == 10)
    }

    @Test func inflightByteCap_pausesReplication() throws {
        var settings = RaftSettings()
        settings.maxInflightBytes = 100
        let net = Network(3, settings: settings)
        net.campaign(1)
        net.drop("appResp")
        let before = appends(net, to: 2).count
        for _ in 0..<10 { try net.propose(1, String(repeating: "x", count: 60)) }
        #expect(appends(net, to: 2).count - before == 2) // 76 bytes, then 152 ≥ 100: paused
    }

    @Test func fastBacktracking_figure7f_needsFewRoundTrips() {
        let net = Network(0 + 1, settings: .paper)
        net.add(NodeID(1), restoring: persisted(term: 7, log: PaperTests.figure7Leader, voters: [1, 2, 3]))
        net.add(NodeID(2), restoring: persisted(term: 7, log: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], voters: [1, 2, 3]))
        net.add(NodeID(3), restoring: persisted(term: 7, log: PaperTests.figure7Leader, voters: [1, 2, 3]))
        net.campaign(1)
        let rejections = net.delivered.filter { m in
            if case let .appendResponse(r) = m.body, m.from == NodeID(2) { return r.reject }; return false
        }
        // One index at a time would take 8 refusals (indices 11 down to 4); the hints skip
        // whole terms.
        #expect(rejections.count <= 2)
        #expect(net.logIDs(2) == net.logIDs(1))
    }

    @Test func follower_acknowledgesOnlyThroughReady_afterItsEntriesAreToPersist() throws {
        let net = Network(3)
        net.campaign(1)
        var follower = net[2]
        let append = AppendEntries(prevIndex: LogIndex(1), prevTerm: Term(1),
                                   entries: [Entry(index: LogIndex(2), term: Term(1), payload: .command([1]))], commit: LogIndex(1))
        follower.step(Message(from: NodeID(1), to: NodeID(2), term: Term(1), body: .appendEntries(append)))
        let ready = follower.ready()
        // The acknowledgement leaves in the same Ready as the entry it acknowledges, and
        // the driver sends it only after persisting that entry (Ready's order).
        #expect(ready.entries.map(\.index) == [LogIndex(2)])
        #expect(ready.messages.count == 1)
        #expect(ready.earlyMessages.isEmpty, "only a leader's replication may leave before the persist")
        follower.advance(ready)
        #expect(follower.log.stable == LogIndex(2))
    }

    @Test func leader_countsItselfOnlyAfterPersisting() throws {
        let net = Network(1)
        net.campaign(1)
        var n = net[1]
        try n.propose([1])
        #expect(n.log.committed == LogIndex(1))
        let ready = n.ready()
        #expect(ready.committedEntries.isEmpty)
        n.advance(ready)
        #expect(n.log.committed == LogIndex(2))
    }

    @Test func proposals_overTheUncommittedBudget_areRefused() throws {
        var settings = RaftSettings()
        settings.maxUncommittedBytes = 200
        let net = Network(3, settings: settings)
        net.campaign(1)
        net.isolate(1)
        var refused = false
        for _ in 0..<10 {
            do { try net.propose(1, String(repeating: "x", count: 50)) } catch { refused = true }
        }
        #expect(refused)
    }

    @Test func followerWithConflictingUncommittedEntries_isRepaired() throws {
        let net = Network(3, settings: .paper)
        net.campaign(1)
        net.isolate(1)
        _ = try? net.propose(1, "lost-1")
        _ = try? net.propose(1, "lost-2")
        net.campaign(2)
        try net.propose(2, "kept")
        net.recover()
        net.tick(2, 2)
        #expect(net.logIDs(1) == net.logIDs(2))
        #expect(net.commands(1) == ["kept"])
    }
}
