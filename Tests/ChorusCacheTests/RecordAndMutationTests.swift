import ChorusBase
import Testing
@testable import ChorusCache

/// Values with a lifetime and writes that the durable layer transforms: records and
/// mutations round-trip and decode totally; a copy ends with its record's time left; a
/// write's data carrying the durable value (an increment's result) is what the writer keeps;
/// a refused write changes nothing and ends `.failed(.refused)`.
@Suite struct RecordAndMutationTests {
    @Test func recordsAndMutations_roundTrip_andAPlainSetIsItsOwnRecord() {
        let records = [CacheRecord(bytes("v")), CacheRecord([], expiry: .at(wallMillis: 1_700_000_000_123)),
                       CacheRecord(bytes("x"), expiry: .after(millis: .max))]
        for r in records { #expect(CacheRecord.decode(r.encoded()) == r) }
        let mutations: [CacheMutation] = [.set(bytes("v"), ttlMillis: nil), .set([], ttlMillis: 10_000), .increment(by: 0),
                                          .increment(by: .min), .increment(by: .max), .increment(by: -1)]
        for m in mutations { #expect(CacheMutation.decode(m.encoded()) == m) }
        #expect(CacheMutation.set(bytes("v"), ttlMillis: nil).encoded() == CacheRecord(bytes("v")).encoded())
    }

    @Test func decoders_areTotal_onRandomBytes() {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<20_000 {
            let bytes = (0..<Int(rng.next() % 12)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 6 == 0 ? rng.next() % 5 : rng.next()) }
            if let r = CacheRecord.decode(bytes) {
                #expect(CacheRecord.decode(r.encoded()) == r)
                #expect(CacheRecord.lifetime(ofEncoded: bytes) == r.lifetime)
            } else {
                #expect(CacheRecord.lifetime(ofEncoded: bytes) == nil)
            }
            if let m = CacheMutation.decode(bytes) { #expect(CacheMutation.decode(m.encoded()) == m) }
        }
    }

    @Test func aRecordSentByTheHome_carriesItsTimeLeft_orNothingOnceExpired() {
        let r = CacheRecord(bytes("v"), expiry: .at(wallMillis: 10_000))
        #expect(r.sent(atWall: 9_700) == CacheRecord(bytes("v"), expiry: .after(millis: 300)))
        #expect(r.sent(atWall: 10_000) == nil)
        #expect(r.sent(atWall: 12_000) == nil)
        #expect(CacheRecord(bytes("v")).sent(atWall: .max) == CacheRecord(bytes("v")))
    }

    @Test func aCopyWithTimeLeft_stopsServingThen_thoughItsLeaseRunsLonger() throws {
        var s = testSettings()
        s.lease = .seconds(2)
        s.copiesEndWithRecords = true
        var rig = ControllerRig(settings: s)
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        let value = CacheRecord(bytes("v"), expiry: .after(millis: 300)).encoded()
        _ = rig.receive(.data(key: key, tag: t, txn: txn(2), grant: .shared, ackCount: 0, version: 1, carriesValue: true, value: value),
                        at: ms(5))
        #expect(rig.c.state(of: key, at: ms(299)) == .S)
        #expect(rig.c.readableValue(of: key, at: ms(299)) == .some(value))
        #expect(rig.c.state(of: key, at: ms(300)) == .I, "counted from the request's first send, not the data's arrival")
        #expect(rig.c.readableValue(of: key, at: ms(300)) == nil)
        _ = rig.tick(at: ms(301))
        #expect(rig.c.metrics.expirations == 1)
        #expect(requestTag(rig.read(2, at: ms(302))) != nil, "the next read misses and asks the home")
    }

    @Test func withoutRecords_theSameBytesLiveForTheWholeLease() throws {
        var s = testSettings()
        s.lease = .seconds(2)
        var rig = ControllerRig(settings: s)
        let t = try #require(requestTag(rig.read(1, at: ms(0))))
        let value = CacheRecord(bytes("v"), expiry: .after(millis: 300)).encoded()
        _ = rig.receive(.data(key: key, tag: t, txn: txn(2), grant: .shared, ackCount: 0, version: 1, carriesValue: true, value: value),
                        at: ms(5))
        #expect(rig.c.state(of: key, at: ms(1_999)) == .S)
    }

    @Test func writeDataCarryingTheDurableValue_endsWithThatValue_andTheCopyHoldsIt() throws {
        var rig = ControllerRig()
        var e: [CacheEffect] = []
        rig.c.write(key, value: CacheMutation.increment(by: 5).encoded(), op: ClientOpID(1), home: home, at: ms(0), into: &e)
        let t = try #require(requestTag(e))
        let result = CacheRecord(bytes("12")).encoded()
        let done = rig.receive(.data(key: key, tag: t, txn: txn(3), grant: .modified, ackCount: 0, version: 4, carriesValue: true,
                                     value: result), at: ms(1))
        #expect(completions(done).map(\.1) == [.writtenValue(result)])
        #expect(rig.c.readableValue(of: key, at: ms(2)) == .some(result))
    }

    @Test func refusedWriteData_endsFailedRefused_andKeepsNoCopy() throws {
        var rig = ControllerRig()
        let t = try #require(requestTag(rig.write(1, "not-a-mutation-the-home-knows", at: ms(0))))
        let done = rig.receive(.data(key: key, tag: t, txn: txn(3), grant: .refused, ackCount: 0, version: 1, carriesValue: false,
                                     value: nil), at: ms(1))
        #expect(completions(done).map(\.1) == [.failed(.refused)])
        #expect(sent(done).map(\.0) == [.unblock(key: key, txn: txn(3))])
        #expect(rig.c.state(of: key, at: ms(2)) == .I)
    }

    @Test func theHome_holdsAndSendsTheDurableLayersResult() {
        var rig = HomeRig()
        let ask = CacheMutation.increment(by: 1).encoded()
        _ = rig.request(.getM(key: key, tag: tag(1), floor: 1, value: ask), from: n1, at: ms(0))
        var e: [HomeEffect] = []
        let result = CacheRecord(bytes("1")).encoded()
        rig.h.writeThroughDone(key, txn: txn(1), result: .some(result), at: ms(1), into: &e)
        #expect(sent(e).map(\.0) == [.data(key: key, tag: tag(1), txn: txn(1), grant: .modified, ackCount: 0, version: 1,
                                           carriesValue: true, value: result)])
        _ = rig.receive(.unblock(key: key, txn: txn(1)), from: n1, at: ms(2))
        let read = sent(rig.receive(.getS(key: key, tag: tag(1), floor: 1), from: n2, at: ms(3)))
        #expect(read.contains { if case let .data(_, _, _, _, _, _, true, value) = $0.0 { return value == result }; return false })
    }

    @Test func aRefusalAtTheHome_leavesTheValueAsItWas_andTellsTheWriter() {
        var rig = HomeRig()
        let old = CacheRecord(bytes("abc")).encoded()
        _ = rig.request(.getM(key: key, tag: tag(1), floor: 1, value: CacheMutation.increment(by: 1).encoded()), from: n1, at: ms(0),
                        value: old)
        var e: [HomeEffect] = []
        rig.h.writeThroughRefused(key, txn: txn(1), at: ms(1), into: &e)
        #expect(sent(e).map(\.0) == [.data(key: key, tag: tag(1), txn: txn(1), grant: .refused, ackCount: 0, version: 0,
                                           carriesValue: false, value: nil)])
        #expect(!e.contains { if case .writeThrough = $0 { return true }; return false })
        _ = rig.receive(.unblock(key: key, txn: txn(1)), from: n1, at: ms(2))
        #expect(rig.h.holders(of: key).isEmpty, "the refused writer holds no copy")
        #expect(rig.h.state(of: key) == .I)
    }
}
