import ChorusBase
import ChorusWire
import XCTest
@testable import ChorusLocks

final class SnapshotTests: XCTestCase {
    /// A table with every kind of state: home and foreign sessions, holders of both modes,
    /// queued and upgrade waiters, request records, tombstones and open ids.
    static func busyTable() -> TestShard {
        var s = TestShard(1)
        let a = s.open(openedAt: 10), b = s.open(openedAt: 20), c = s.open(openedAt: 30)
        let foreign = SessionID(home: 2, index: 7, openedAtMillis: 15)
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        s.acquire("x", c, .exclusive)
        s.acquire("x", a, .exclusive) // upgrade, queued
        s.acquire("y", foreign)
        s.acquire("y", c, .shared)
        s.release("nothing", b)
        s.apply(.dropSession(SessionID(home: 3, index: 1, openedAtMillis: 1)))
        let d = s.open(openedAt: 40)
        s.apply(.closeSession(d, requestID: req("close-d")))
        return s
    }

    func test_snapshot_roundTrip_givesAnEqualTable_thatKeepsApplyingIdentically() throws {
        var s = SnapshotTests.busyTable()
        let image = s.table.encode()
        var restored = try LockTable(decoding: image)
        XCTAssertEqual(restored, s.table)
        XCTAssertEqual(restored.encode(), image)
        XCTAssertEqual(restored.waitEdges(), s.table.waitEdges())
        let b = SessionID(home: 1, index: 2, openedAtMillis: 20)
        let next = LockCommand.release(name: lock("x"), session: b, requestID: req("rb"))
        XCTAssertEqual(restored.apply(next, index: s.index + 1), s.apply(next))
        XCTAssertEqual(restored, s.table)
    }

    func test_snapshot_bytes_areAFixedPointOfDecoding_whateverTheInsertionOrder() throws {
        var s = TestShard(1)
        let sessions = (0..<30).map { s.open(openedAt: UInt64(($0 * 7919) % 101)) }
        var rng = SeededRandom(seed: 11)
        for _ in 0..<300 {
            let who = sessions[rng.below(sessions.count)]
            s.acquire("n\(rng.below(50))", who, rng.below(2) == 0 ? .shared : .exclusive, wait: rng.below(3) == 0 ? 0 : 1_000)
        }
        let image = s.table.encode()
        let restored = try LockTable(decoding: image)
        XCTAssertEqual(restored.encode(), image)
        XCTAssertEqual(try LockTable(decoding: restored.encode()), s.table)
    }

    func test_snapshot_decoder_refusesTruncatedTrailingAndInconsistentImages() {
        let image = SnapshotTests.busyTable().table.encode()
        for cut in [0, 1, 5, image.count / 2, image.count - 1] {
            XCTAssertThrowsError(try LockTable(decoding: Array(image[..<cut])))
        }
        XCTAssertThrowsError(try LockTable(decoding: image + [0]))
        var badMagic = image; badMagic[0] ^= 0xFF
        XCTAssertThrowsError(try LockTable(decoding: badMagic))
    }

    func test_snapshot_decoder_onMutatedImages_neverTraps_andOnlyAcceptsConsistentTables() {
        let image = SnapshotTests.busyTable().table.encode()
        var rng = SeededRandom(seed: 7)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = image
            for _ in 0..<(1 + rng.below(3)) {
                switch rng.below(4) {
                case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
                case 2: if bytes.count > 1 { bytes.remove(at: rng.below(bytes.count)) }
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
                }
            }
            guard let table = try? LockTable(decoding: bytes) else { continue }
            accepted += 1
            XCTAssertEqual(try? LockTable(decoding: table.encode()), table)
            for name in table.names() {
                let holders = table.holders(of: name)
                XCTAssertTrue(holders.count <= 1 || holders.allSatisfy { $0.mode == .shared })
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some mutations (a TTL, a token) keep the image consistent")
    }
}
