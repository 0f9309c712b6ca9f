import XCTest
@testable import ChorusLocks

final class IdentifierTests: XCTestCase {
    func test_lockName_whenEmptyTooLongOrControl_isRefused() {
        XCTAssertThrowsError(try LockName(""))
        XCTAssertThrowsError(try LockName(String(repeating: "a", count: 257)))
        XCTAssertNoThrow(try LockName(String(repeating: "a", count: 256)))
        XCTAssertNoThrow(try LockName(String(repeating: "é", count: 128))) // 256 bytes
        XCTAssertThrowsError(try LockName(String(repeating: "é", count: 129)))
        XCTAssertThrowsError(try LockName("a\nb"))
        XCTAssertThrowsError(try LockName("a\u{7F}"))
        XCTAssertThrowsError(try LockName("a\u{85}"))
        XCTAssertNoThrow(try LockName("jobs/ünïcode ✓"))
    }

    func test_lockName_comparesByBytes_notByCanonicalEquivalence() {
        let composed = lock("caf\u{E9}"), decomposed = lock("cafe\u{301}")
        XCTAssertNotEqual(composed, decomposed)
        XCTAssertEqual(Set([composed, decomposed]).count, 2)
        XCTAssertTrue(decomposed < composed) // "e" (0x65) sorts before 0xC3
        XCTAssertTrue(lock("a/b").hasBytePrefix("a/"))
        XCTAssertFalse(composed.hasBytePrefix("cafe"))
    }

    func test_requestID_whenEmptyOrLongerThan128Bytes_isRefused() {
        XCTAssertThrowsError(try RequestID(""))
        XCTAssertNoThrow(try RequestID(String(repeating: "x", count: 128)))
        XCTAssertThrowsError(try RequestID(String(repeating: "x", count: 129)))
    }

    func test_sessionID_text_roundTrips() throws {
        for id in [SessionID(home: 0, index: 0, openedAtMillis: 0),
                   SessionID(home: 65535, index: UInt64.max, openedAtMillis: UInt64.max),
                   SessionID(home: 7, index: 42, openedAtMillis: 1_700_000_000_000)] {
            XCTAssertEqual(try SessionID(parsing: id.description), id)
        }
        XCTAssertEqual(SessionID(home: 7, index: 42, openedAtMillis: 99).description, "7-42-99")
    }

    func test_sessionID_parser_refusesEverythingNonCanonical() {
        for bad in ["", "1-2", "1-2-3-4", "-1-2", "1--2", "01-2-3", "1-02-3", "+1-2-3", "1-2-3 ", " 1-2-3",
                    "65536-1-1", "1-18446744073709551616-1", "a-b-c", "1-2-٣", "1‐2‐3"] {
            XCTAssertThrowsError(try SessionID(parsing: bad), "accepted \(bad)")
        }
    }

    func test_sessionID_order_youngestIsGreatestOpenedAtThenHomeThenIndex() {
        let old = SessionID(home: 9, index: 900, openedAtMillis: 100)
        let young = SessionID(home: 1, index: 1, openedAtMillis: 200)
        let sameTimeHigherHome = SessionID(home: 2, index: 1, openedAtMillis: 200)
        XCTAssertEqual([young, old, sameTimeHigherHome].max(), sameTimeHigherHome)
        XCTAssertTrue(old < young)
    }
}
