import ChorusBase
import Testing
@testable import ChorusCache

/// The races of the primer's directory protocol (Sorin, Hill & Wood ch. 8) and those a lossy
/// network adds, each at one controller.
@Suite struct ControllerRaceTests {
    @Test func acksArrivingBeforeData_areKept_andTheWriteEndsWhenDataCompletesThem() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.write(1, "v", at: ms(0))))
        #expect(rig.receive(.invAck(key: key, tag: t, acker: n2), from: n2, at: ms(1)).isEmpty)
        #expect(rig.c.state(of: key, at: ms(1)) == .IM_AD)
        let e = rig.receive(writeData(t, txn(5), acks: 1), at: ms(2))
        #expect(completions(e).map(\.1) == [.written])
        #expect(sent(e).map(\.0) == [.unblock(key: key, txn: txn(5))])
        #expect(rig.c.state(of: key, at: ms(2)) == .M)
    }

    @Test func dataBeforeItsAcks_waitsInIM_A_andADuplicateDataDoesNotUnblock() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.write(1, "v", at: ms(0))))
        #expect(completions(rig.receive(writeData(t, txn(5), acks: 2), at: ms(1))).isEmpty)
        #expect(rig.c.state(of: key, at: ms(1)) == .IM_A)
        #expect(rig.receive(writeData(t, txn(5), acks: 2), at: ms(2)).isEmpty)
        _ = rig.receive(.invAck(key: key, tag: t, acker: n2), from: n2, at: ms(3))
        _ = rig.receive(.invAck(key: key, tag: t, acker: n2), from: n2, at: ms(3))   // duplicate
        #expect(rig.c.state(of: key, at: ms(3)) == .IM_A)
        let e = rig.receive(.invAck(key: key, tag: t, acker: n3), from: n3, at: ms(4))
        #expect(completions(e).map(\.1) == [.written])
    }

    @Test func invalidationOvertakingData_answersTheReadOnce_andKeepsNoCopy() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        let ack = rig.receive(.inv(key: key, txn: txn(7), requester: n2, tag: tag(9)), at: ms(1))
        #expect(sent(ack).map(\.0) == [.invAck(key: key, tag: tag(9), acker: n1)])
        #expect(sent(ack).map(\.1) == [n2])
        #expect(rig.c.state(of: key, at: ms(1)) == .IS_D_I)
        let e = rig.receive(readData(t, txn(6), .shared, value: "old"), at: ms(2))
        #expect(completions(e).map(\.1) == [.value(bytes("old"))])
        #expect(rig.c.state(of: key, at: ms(2)) == .I)
    }

    @Test func invalidationOlderThanTheData_isAcked_andTheCopyIsKept() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        _ = rig.receive(.inv(key: key, txn: txn(3), requester: n2, tag: tag(9)), at: ms(1))
        _ = rig.receive(readData(t, txn(6), .shared, value: "v"), at: ms(2))
        #expect(rig.c.state(of: key, at: ms(2)) == .S)
        _ = rig.receive(.inv(key: key, txn: txn(4), requester: n2, tag: tag(9)), at: ms(3))
        #expect(rig.c.state(of: key, at: ms(3)) == .S)
    }

    @Test func writebackCrossingAForwardedGetM_givesTheCopyUpAtOnce_andEndsOnPutAck() throws {
        var s = testSettings()
        s.maxBytes = LocalCache<CacheCopy>.entryOverhead + 40
        var rig = ControllerRig(settings: s)
        let t = try #require(requestTag(rig.write(1, "v", at: ms(0))))
        _ = rig.receive(writeData(t, txn(5)), at: ms(1))
        #expect(rig.c.state(of: key, at: ms(1)) == .M)
        // A read of another key fills the cache and evicts k: PutM.
        let other = CacheKey("other")
        let t2 = try #require(requestTag(rig.read(2, at: ms(2), key: other)))
        let fill = rig.receive(.data(key: other, tag: t2, txn: txn(6), grant: .exclusive, ackCount: 0, version: 1,
                                     carriesValue: true, value: bytes("w")), at: ms(3))
        #expect(sent(fill).map(\.0).contains(.putM(key: key, grant: txn(5), version: 2)))
        #expect(rig.c.state(of: key, at: ms(3)) == .MI_A)
        // The home had already forwarded n2's GetM to this owner.
        let fwd = rig.receive(.fwdGetM(key: key, txn: txn(8), requester: n2, tag: tag(4)), at: ms(4))
        #expect(sent(fwd).map(\.1) == [n2])
        #expect(rig.c.state(of: key, at: ms(4)) == .II_A)
        _ = rig.receive(.putAck(key: key, grant: txn(5)), at: ms(5))
        #expect(rig.c.state(of: key, at: ms(5)) == .I)
    }

    @Test func opsOnAKeyWithARequestInFlight_park_andRunInOrderAfterIt() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.write(1, "a", at: ms(0))))
        #expect(rig.read(2, at: ms(1)).isEmpty)
        let e = rig.receive(writeData(t, txn(5)), at: ms(2))
        #expect(completions(e).map(\.0) == [ClientOpID(1), ClientOpID(2)])
        #expect(completions(e).map(\.1) == [.written, .value(bytes("a"))])
    }

    @Test func copy_servesReadsUntilItsLeaseEnds_countedFromTheRequest_thenMisses() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        _ = rig.receive(readData(t, txn(2), .shared, value: "v"), at: ms(30))
        #expect(completions(rig.read(2, at: ms(99))).map(\.1) == [.value(bytes("v"))])
        let late = rig.read(3, at: ms(100))
        #expect(completions(late).isEmpty)
        #expect(requestTag(late) != nil)
        #expect(rig.c.metrics.hits == 1)
    }

    @Test func lostRequest_isSentAgainAfterTheRetransmitInterval_withTheSameTag() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        #expect(rig.tick(at: ms(9)).isEmpty)
        #expect(requestTag(rig.tick(at: ms(10))) == t)
    }

    @Test func homeChanged_endsAWriteInFlightAsUnknown_resendsAReadToTheNewHome_andDropsCopies() throws {
        var rig = ControllerRig()
        _ = rig.write(1, "v", at: ms(0))
        let readKey = CacheKey("r")
        _ = rig.read(2, at: ms(0), key: readKey)
        var e: [CacheEffect] = []
        rig.c.homeChanged(from: home, resolve: { _ in n3 }, at: ms(1), into: &e)
        #expect(completions(e).map(\.1) == [.failed(.outcomeUnknown)])
        #expect(sent(e).count == 1)
        #expect(sent(e).first?.1 == n3)
        #expect(rig.c.state(of: key, at: ms(1)) == .I)
    }

    @Test func nackOfAWrite_meansItWasWrittenThrough() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.write(1, "v", at: ms(0))))
        let e = rig.receive(.nack(key: key, tag: t), at: ms(1))
        #expect(completions(e).map(\.1) == [.written])
        #expect(rig.c.state(of: key, at: ms(1)) == .I)
    }

    @Test func forwardedGetS_downgradesTheOwnerToShared_andAStaleOneIsOnlyAcked() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        _ = rig.receive(readData(t, txn(5), .exclusive, value: "v"), at: ms(1))
        #expect(rig.c.state(of: key, at: ms(1)) == .E)
        _ = rig.receive(.fwdGetS(key: key, txn: txn(4), requester: n2, tag: tag(1)), at: ms(2))
        #expect(rig.c.state(of: key, at: ms(2)) == .E)
        let e = rig.receive(.fwdGetS(key: key, txn: txn(6), requester: n2, tag: tag(1)), at: ms(3))
        #expect(sent(e).map(\.1) == [n2])
        #expect(rig.c.state(of: key, at: ms(3)) == .S)
    }

    @Test func dataForARequestThisLifeNeverMade_getsNoUnblock() {
        var rig = ControllerRig()
        #expect(rig.receive(writeData(tag(1, incarnation: 0), txn(5), acks: 1), at: ms(1)).isEmpty)
    }
}
