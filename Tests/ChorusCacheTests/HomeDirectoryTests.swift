import ChorusBase
import Testing
@testable import ChorusCache

@Suite struct HomeDirectoryTests {
    @Test func firstRead_grantsExclusive_andASecondReaderIsForwardedToTheOwner() {
        var rig = HomeRig()
        let first = rig.request(.getS(key: key, tag: tag(1), floor: 1), from: n1, at: ms(0), value: bytes("v"))
        #expect(sent(first).map(\.0) == [readData(tag(1), txn(1), .exclusive, value: "v").withVersion(0)])
        _ = rig.receive(.unblock(key: key, txn: txn(1)), from: n1, at: ms(1))
        #expect(rig.h.state(of: key) == .E)
        let second = sent(rig.receive(.getS(key: key, tag: tag(1), floor: 1), from: n2, at: ms(2)))
        #expect(second.map(\.0).contains(.fwdGetS(key: key, txn: txn(2), requester: n2, tag: tag(1))))
        #expect(second.contains { if case .data(_, _, _, .shared, 1, _, _, _) = $0.0 { return $0.1 == n2 }; return false })
        _ = rig.receive(.unblock(key: key, txn: txn(2)), from: n2, at: ms(3))
        #expect(rig.h.state(of: key) == .S)
        #expect(rig.h.holders(of: key) == [n1, n2])
    }

    @Test func write_invalidatesEverySharer_writesThroughBeforeItsData_andCountsTheirAcks() {
        var rig = shared(by: [n1, n2, n3])
        let e = rig.receive(.upgrade(key: key, tag: tag(2), floor: 2, value: bytes("w")), from: n1, at: ms(10))
        let invs = sent(e).filter { if case .inv = $0.0 { return true }; return false }.map(\.1)
        #expect(invs == [n2, n3])
        #expect(e.contains(.writeThrough(key, value: bytes("w"), version: 1, txn: txn(4))))
        #expect(!sent(e).contains { if case .data = $0.0 { return true }; return false })
        let done = sent(rig.written(txn(4), at: ms(11)))
        #expect(done.map(\.0) == [writeData(tag(2), txn(4), acks: 2).withVersion(1)])
        _ = rig.receive(.unblock(key: key, txn: txn(4)), from: n1, at: ms(12))
        #expect(rig.h.state(of: key) == .M)
        #expect(rig.h.holders(of: key) == [n1])
    }

    @Test func requestsForABusyKey_waitForTheUnblock_andAreServedInArrivalOrder() {
        var rig = HomeRig()
        _ = rig.request(.getM(key: key, tag: tag(1), floor: 1, value: bytes("a")), from: n1, at: ms(0))
        #expect(rig.receive(.getS(key: key, tag: tag(1), floor: 1), from: n2, at: ms(1)).isEmpty)
        #expect(rig.receive(.getS(key: key, tag: tag(1), floor: 1), from: n3, at: ms(1)).isEmpty)
        _ = rig.written(txn(1), at: ms(2))
        let next = sent(rig.receive(.unblock(key: key, txn: txn(1)), from: n1, at: ms(3)))
        #expect(next.map(\.0).contains(.fwdGetS(key: key, txn: txn(2), requester: n2, tag: tag(1))))
        #expect(!next.contains { $0.1 == n3 })
    }

    @Test func unansweredInvalidation_isAckedByTheHome_onceTheSharersLeaseBoundHasPassed() {
        var rig = shared(by: [n1, n2])
        _ = rig.receive(.getM(key: key, tag: tag(2), floor: 2, value: bytes("w")), from: n1, at: ms(10))
        _ = rig.written(txn(3), at: ms(11))
        // n2 never answers. Until its lease bound the home only resends the invalidation.
        let early = sent(rig.tick(at: ms(50)))
        #expect(early.contains { if case .inv = $0.0 { return $0.1 == n2 }; return false })
        #expect(!early.contains { if case .invAck = $0.0 { return true }; return false })
        // n2's copy was granted at 2 ms: after 102 ms it cannot be read any more.
        let late = sent(rig.tick(at: ms(103)))
        #expect(late.map(\.0).contains(.invAck(key: key, tag: tag(2), acker: n2)))
        #expect(!late.contains { if case .inv = $0.0 { return true }; return false })
    }

    @Test func deadSharer_isNoLongerInvalidated_butTheNextWriteWaitsOutItsLease() {
        var rig = shared(by: [n1, n2])
        _ = rig.dead(n2, at: ms(20))
        #expect(rig.h.holders(of: key) == [n1])
        let e = rig.receive(.getM(key: key, tag: tag(2), floor: 2, value: bytes("w")), from: n1, at: ms(30))
        #expect(!sent(e).contains { $0.1 == n2 })
        #expect(sent(rig.written(txn(3), at: ms(31))).isEmpty)
        #expect(sent(rig.tick(at: ms(60))).isEmpty)
        #expect(sent(rig.tick(at: ms(103))).map(\.0) == [writeData(tag(2), txn(3)).withVersion(1)])
    }

    @Test func deadRequester_endsItsTransaction_soTheKeyServesOthers() {
        var rig = HomeRig()
        _ = rig.request(.getS(key: key, tag: tag(1), floor: 1), from: n1, at: ms(0))
        _ = rig.receive(.getS(key: key, tag: tag(1), floor: 1), from: n2, at: ms(1))
        let e = sent(rig.dead(n1, at: ms(5)))
        // n1 may hold the exclusive copy until its lease bound: n2 is served without a copy.
        #expect(e.contains { if case .data(_, _, _, .uncached, 0, _, _, _) = $0.0 { return $0.1 == n2 }; return false })
    }

    /// A writer that dies after its write-through, before its sharers acked: the sharers may
    /// still read the old value until their lease bound, so no read is answered with the new
    /// value before then (the whole-node run found a new-then-old read without this rule).
    @Test func deadWriter_afterItsWriteThrough_holdsReadsUntilTheRevokedLeasesEnd() {
        var rig = shared(by: [n1, n2])
        _ = rig.receive(.getM(key: key, tag: tag(2), floor: 2, value: bytes("w")), from: n1, at: ms(10))
        _ = rig.written(txn(3), at: ms(11))
        _ = rig.dead(n1, at: ms(12))
        #expect(sent(rig.receive(.getS(key: key, tag: tag(5), floor: 5), from: n3, at: ms(13))).isEmpty)
        #expect(!sent(rig.tick(at: ms(60))).contains { if case .data = $0.0 { return true }; return false })
        #expect(sent(rig.tick(at: ms(150))).contains { if case .data = $0.0 { return $0.1 == n3 }; return false })
    }

    @Test func newHome_holdsEveryRequest_untilTheOldHomesLeasesHaveEnded() {
        var rig = HomeRig(takeover: true, at: ms(1_000))
        let e = rig.request(.getS(key: key, tag: tag(1), floor: 1), from: n1, at: ms(1_001))
        #expect(sent(e).isEmpty)
        #expect(sent(rig.tick(at: ms(1_099))).isEmpty)
        #expect(sent(rig.tick(at: ms(1_100))).count == 1)
    }

    @Test func repeatedFinishedRequest_isNacked_andARequestFromAnOlderLifeIsIgnored() {
        var rig = HomeRig()
        _ = rig.request(.getM(key: key, tag: tag(1, incarnation: 2), floor: 1, value: bytes("a")), from: n1, at: ms(0))
        _ = rig.written(txn(1), at: ms(1))
        _ = rig.receive(.unblock(key: key, txn: txn(1)), from: n1, at: ms(2))
        let again = rig.receive(.getM(key: key, tag: tag(1, incarnation: 2), floor: 1, value: bytes("a")), from: n1, at: ms(3))
        #expect(sent(again).map(\.0) == [.nack(key: key, tag: tag(1, incarnation: 2))])
        let old = rig.receive(.getM(key: key, tag: tag(9, incarnation: 1), floor: 9, value: bytes("b")), from: n1, at: ms(4))
        #expect(old.isEmpty)
    }

    @Test func putOfAnOlderGrant_isAcked_butTheNewerCopyStaysCounted() {
        var rig = shared(by: [n1])
        let e = rig.receive(.putS(key: key, grant: txn(0)), from: n1, at: ms(5))
        #expect(sent(e).map(\.0) == [.putAck(key: key, grant: txn(0))])
        #expect(rig.h.holders(of: key) == [n1])
        _ = rig.receive(.putS(key: key, grant: txn(1)), from: n1, at: ms(6))
        #expect(rig.h.holders(of: key).isEmpty)
    }

    @Test func plantedBug_sendsDataExpectingOneAckFewerThanItInvalidated() {
        var s = testSettings()
        s.plantedBug = true
        var rig = shared(by: [n1, n2, n3], settings: s)
        _ = rig.receive(.getM(key: key, tag: tag(2), floor: 2, value: bytes("w")), from: n1, at: ms(10))
        #expect(sent(rig.written(txn(4), at: ms(11))).map(\.0) == [writeData(tag(2), txn(4), acks: 1).withVersion(1)])
    }

    /// A home where `nodes` hold shared copies granted at 2 ms (transactions 1…n).
    func shared(by nodes: [CacheNodeID], settings: CacheSettings = testSettings()) -> HomeRig {
        var s = settings
        s.grantExclusive = false
        var rig = HomeRig(settings: s)
        for (i, node) in nodes.enumerated() {
            _ = rig.request(.getS(key: key, tag: tag(1), floor: 1), from: node, at: ms(2))
            _ = rig.receive(.unblock(key: key, txn: txn(UInt64(i + 1))), from: node, at: ms(2))
        }
        return rig
    }
}

extension CacheMessage {
    /// The same `data` message with another version.
    func withVersion(_ v: UInt64) -> CacheMessage {
        guard case let .data(k, t, x, g, a, _, c, value) = self else { return self }
        return .data(key: k, tag: t, txn: x, grant: g, ackCount: a, version: v, carriesValue: c, value: value)
    }
}
