import ChorusBase
import ChorusShards
import ChorusWire
import XCTest

/// `RequestLedger` (Raft dissertation §6.3): FIFO forgetting by apply order, identical on
/// every replica, and an image that restores an equal ledger.
final class RequestLedgerTests: XCTestCase {
    private func id(_ n: Int) -> [UInt8] { bytes("r\(n)") }

    private func image(_ l: RequestLedger) -> [UInt8] {
        var w = ByteWriter()
        l.encode(into: &w)
        return w.bytes
    }

    private func restored(_ bytes: [UInt8], capacity: Int) throws -> RequestLedger {
        var r = ByteReader(bytes)
        let l = try RequestLedger(capacity: capacity, decoding: &r)
        try r.expectEnd()
        return l
    }

    func testRecordedRequest_isAnsweredWithItsFirstReply() {
        var l = RequestLedger(capacity: 4)
        l.record(id(1), index: 7, reply: [0])
        l.record(id(1), index: 9, reply: [1])
        XCTAssertEqual(l.reply(for: id(1))?.index, 7, "a repeat does not overwrite")
        XCTAssertEqual(l.reply(for: id(1))?.reply, [0])
        XCTAssertEqual(l.count, 1)
        XCTAssertNil(l.reply(for: id(2)))
    }

    func testEmptyRequestID_isNeverRemembered() {
        var l = RequestLedger(capacity: 4)
        l.record([], index: 1, reply: [0])
        XCTAssertEqual(l.count, 0)
        XCTAssertNil(l.reply(for: []))
    }

    func testFullLedger_forgetsTheIdAppliedLongestAgo_FIFO() {
        var l = RequestLedger(capacity: 3)
        for n in 1...3 { l.record(id(n), index: UInt64(n), reply: [UInt8(n)]) }
        // A lookup is not a use: FIFO by apply order, not LRU.
        XCTAssertNotNil(l.reply(for: id(1)))
        l.record(id(4), index: 4, reply: [4])
        XCTAssertNil(l.reply(for: id(1)))
        XCTAssertEqual((2...4).map { l.reply(for: id($0))?.index }, [2, 3, 4])
        l.record(id(5), index: 5, reply: [5])
        l.record(id(6), index: 6, reply: [6])
        XCTAssertEqual((1...6).map { l.reply(for: id($0)) != nil }, [false, false, false, true, true, true])
        XCTAssertEqual(l.count, 3)
        // An id forgotten may be recorded again; it is then the newest.
        l.record(id(1), index: 7, reply: [7])
        XCTAssertNil(l.reply(for: id(4)))
        XCTAssertEqual(l.reply(for: id(1))?.index, 7)
    }

    func testTwoReplicas_fedTheSameApplies_forgetTheSameIds_andWriteTheSameImage() {
        var rng = SeededRandom(seed: 8)
        var a = RequestLedger(capacity: 50), b = RequestLedger(capacity: 50)
        for index in 1...20_000 {
            // Repeats of recent ids (client retries) mixed with new ids.
            let n = rng.below(3) == 0 ? max(0, index - 1 - rng.below(80)) : index
            a.record(id(n), index: UInt64(index), reply: [UInt8(truncatingIfNeeded: n)])
            b.record(id(n), index: UInt64(index), reply: [UInt8(truncatingIfNeeded: n)])
        }
        XCTAssertEqual(a, b)
        XCTAssertEqual(image(a), image(b))
        XCTAssertEqual(a.count, 50)
    }

    func testImage_roundTripsToAnEqualLedger_evenAfterManyEvictions() throws {
        var l = RequestLedger(capacity: 10)
        // More than 4,096 evictions compacts the ledger's apply-order list.
        for n in 0..<10_000 { l.record(id(n), index: UInt64(n + 1), reply: [UInt8(n % 3)]) }
        let copy = try restored(image(l), capacity: 10)
        XCTAssertEqual(copy, l)
        XCTAssertEqual(image(copy), image(l))
        XCTAssertEqual((9_990..<10_000).map { copy.reply(for: id($0))?.index }, (9_991...10_000).map { $0 })
        XCTAssertNil(copy.reply(for: id(9_989)))
        // Both forget the same id next.
        var x = l, y = copy
        x.record(id(-1), index: 10_001, reply: [])
        y.record(id(-1), index: 10_001, reply: [])
        XCTAssertEqual(x, y)
        XCTAssertNil(y.reply(for: id(9_990)))
        XCTAssertEqual(try restored(image(RequestLedger(capacity: 3)), capacity: 3), RequestLedger(capacity: 3))
    }

    func testImage_withMoreRecordsThanCapacity_orRepeatedIds_isRefused() {
        var l = RequestLedger(capacity: 5)
        for n in 0..<5 { l.record(id(n), index: UInt64(n), reply: []) }
        XCTAssertThrowsError(try restored(image(l), capacity: 4))
        var w = ByteWriter()
        w.varint(2)
        w.blob(id(1)); w.varint(1); w.blob([])
        w.blob(id(1)); w.varint(2); w.blob([])
        XCTAssertThrowsError(try restored(w.bytes, capacity: 5), "repeated id")
        var e = ByteWriter()
        e.varint(1); e.blob([]); e.varint(1); e.blob([])
        XCTAssertThrowsError(try restored(e.bytes, capacity: 5), "empty id")
    }

    func testImageDecode_isTotal_onGarbage() {
        var rng = SeededRandom(seed: 9)
        var l = RequestLedger(capacity: 8)
        for n in 0..<8 { l.record(id(n), index: UInt64(n + 1), reply: [UInt8(n)]) }
        let valid = image(l)
        for _ in 0..<20_000 {
            var x = valid
            switch rng.below(3) {
            case 0: x = Array(x.prefix(rng.below(x.count)))
            case 1: x[rng.below(x.count)] ^= UInt8(1) << UInt8(rng.below(8))
            default: x = (0..<rng.below(30)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            var r = ByteReader(x)
            guard let decoded = try? RequestLedger(capacity: 8, decoding: &r) else { continue }
            XCTAssertLessThanOrEqual(decoded.count, 8)
            XCTAssertEqual(try? restored(image(decoded), capacity: 8), decoded)
        }
    }
}
