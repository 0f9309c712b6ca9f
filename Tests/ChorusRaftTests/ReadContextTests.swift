import Testing
@testable import ChorusRaft

/// ReadIndex contexts (dissertation §6.4): a leader matches heartbeat answers to reads by
/// context alone, so contexts must be unique — the core refuses a repeat of a pending one,
/// and `ReadContextSequence` makes contexts that never repeat.
@Suite struct ReadContextTests {
    private func heartbeatAnswer(from member: UInt64, context: [UInt8]) -> (Message) -> Bool {
        { m in
            guard m.from == NodeID(member), case let .heartbeatResponse(r) = m.body else { return true }
            return r.context != context
        }
    }

    @Test func leaderRead_withTheContextOfAPendingRead_isRefused_andTheFirstIsAnsweredOnce() throws {
        let net = Network(3)
        net.campaign(1)
        net.drop("heartbeatResp")
        try net[1].readIndex(context: [5])
        #expect(throws: RaftError.duplicateReadContext) { try net[1].readIndex(context: [5]) }
        net.recover()
        net.tick(1)
        #expect(net.peer(1).readStates.map(\.context) == [[5]])
    }

    @Test func followerRead_withAContextPendingAtTheLeader_isDropped() throws {
        let net = Network(3)
        net.campaign(1)
        net.drop("heartbeatResp")
        try net[1].readIndex(context: [5])
        try net[2].readIndex(context: [5])
        net.flush()
        #expect(net[1].reads.count == 1, "the forwarded duplicate was not queued")
        net.recover()
        net.tick(1)
        #expect(net.peer(1).readStates.map(\.context) == [[5]])
        #expect(net.peer(2).readStates.isEmpty, "the leader never took the second read")
    }

    /// Why contexts must never repeat, even after the first read was answered: an answer held
    /// up from the first round confirms a later read that reuses its context, without any
    /// member having heard of that later read. A fresh context is confirmed only by a new round.
    @Test func lateHeartbeatAnswer_confirmsAReusedContext_butNeverAFreshOne() throws {
        for reuse in [true, false] {
            let net = Network(3)
            net.campaign(1)
            var contexts = ReadContextSequence(member: NodeID(1), incarnation: 77)
            let first = contexts.next()
            // Node 2's answer to the first round is held back; node 3's confirms the read.
            net.filter = heartbeatAnswer(from: 2, context: first)
            try net[1].readIndex(context: first)
            net.flush()
            #expect(net.peer(1).readStates.map(\.context) == [first])
            #expect(net.held.count == 1)
            // The second read's round reaches nobody; only the held answer arrives.
            net.recover()
            net.isolate(1)
            let second = reuse ? first : contexts.next()
            try net[1].readIndex(context: second)
            net.flush()
            net.recover()
            net.releaseHeld()
            let confirmed = net.peer(1).readStates.count == 2
            #expect(confirmed == reuse, reuse ? "a reused context is confirmed by a stale answer" : "a fresh context is not")
        }
    }

    @Test func sequence_neverRepeats_acrossMembersAndIncarnations_andReadsBackItsCounters() throws {
        var a = ReadContextSequence(member: NodeID(1), incarnation: 10)
        var b = ReadContextSequence(member: NodeID(2), incarnation: 10)
        var a2 = ReadContextSequence(member: NodeID(1), incarnation: 11)
        var seen: Set<[UInt8]> = []
        for _ in 0..<1_000 {
            for context in [a.next(), b.next(), a2.next()] {
                #expect(context.count == ReadContextSequence.byteCount)
                #expect(seen.insert(context).inserted)
            }
        }
        let context = a.next()
        #expect(a.counter(of: context) == a.issued)
        #expect(b.counter(of: context) == nil, "another member's context")
        #expect(a2.counter(of: context) == nil, "another incarnation's context")
        #expect(a.counter(of: Array(context.prefix(8))) == nil)
        let unissued = ReadContextSequence(member: NodeID(1), incarnation: 10)
        #expect(unissued.counter(of: context) == nil, "a counter not issued yet")
        #expect(ReadContextSequence.byteCount <= RaftSettings().maxReadContextBytes)
    }
}
