import XCTest
@testable import ChorusLocks

/// Exactly-once application of retried commands.
final class DedupeTests: XCTestCase {
    func test_retriedOpen_returnsTheSameSession_andOpensNoOther() {
        var s = TestShard()
        let first = s.apply(.openSession(ttlMillis: 5_000, openedAtMillis: 1, requestID: req("open-1")))
        let retry = s.apply(.openSession(ttlMillis: 5_000, openedAtMillis: 9, requestID: req("open-1")))
        XCTAssertEqual(retry, first)
        XCTAssertEqual(s.table.homeSessions().count, 1)
    }

    func test_retriedAcquire_afterGrant_returnsTheSameGrant_andChangesNothing() {
        var s = TestShard()
        let a = s.open()
        let first = s.acquire("x", a, id: req("acq"))
        let before = s.table
        let retry = s.acquire("x", a, id: req("acq"))
        XCTAssertEqual(retry, first)
        XCTAssertEqual(s.table.encodeBody(), before.encodeBody())
    }

    func test_retriedAcquire_afterRelease_returnsTheFirstGrant_andDoesNotTakeTheLockAgain() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        let first = s.acquire("x", a, id: req("acq"))
        s.release("x", a)
        s.acquire("x", b)
        XCTAssertEqual(s.acquire("x", a, id: req("acq")), first)
        XCTAssertEqual(s.holders("x"), [b])
        XCTAssertEqual(s.waiters("x"), [])
    }

    func test_retriedAcquire_whileQueued_saysWaiting_andAfterPromotion_returnsThePromotionGrant() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        XCTAssertEqual(s.acquire("x", b, id: req("b")).reply, .waiting)
        XCTAssertEqual(s.acquire("x", b, id: req("b")).reply, .waiting)
        XCTAssertEqual(s.waiters("x"), [b])
        s.release("x", a)
        let promotedAt = s.index
        XCTAssertEqual(s.acquire("x", b, id: req("b")).reply, .granted(lock("x"), .exclusive, FencingToken(promotedAt)))
    }

    func test_retriedRelease_afterReacquire_returnsReleased_andDoesNotReleaseAgain() {
        var s = TestShard()
        let a = s.open()
        s.acquire("x", a)
        XCTAssertEqual(s.release("x", a, id: req("rel")).reply, .released)
        s.acquire("x", a)
        XCTAssertEqual(s.release("x", a, id: req("rel")).reply, .released)
        XCTAssertEqual(s.holders("x"), [a])
    }

    func test_retriedRelease_thatFoundNothing_staysNotHeld_afterALaterGrant() {
        var s = TestShard()
        let a = s.open()
        XCTAssertEqual(s.release("x", a, id: req("rel")).reply, .notHeld)
        s.acquire("x", a)
        XCTAssertEqual(s.release("x", a, id: req("rel")).reply, .notHeld)
        XCTAssertEqual(s.holders("x"), [a])
    }

    func test_retriedAcquire_afterItsWaitTimedOut_returnsTheTimeout() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        s.acquire("x", b, id: req("b"))
        s.apply(.cancelWait(name: lock("x"), session: b, requestID: req("b"), reason: .timeout))
        XCTAssertEqual(s.acquire("x", b, id: req("b")).reply, .waitFailed(.timeout))
        XCTAssertEqual(s.waiters("x"), [])
    }

    func test_requestRecords_areBoundedPerSession_andAnOldRetryIsAppliedAsNew() {
        var settings = LockTableSettings()
        settings.requestsPerSession = 4
        var s = TestShard(1, settings: settings)
        let a = s.open()
        XCTAssertEqual(s.release("x", a, id: req("old")).reply, .notHeld)
        for i in 0..<4 { s.acquire("n\(i)", a) }
        s.acquire("x", a)
        XCTAssertEqual(s.release("x", a, id: req("old")).reply, .released, "the record of 'old' was evicted")
    }

    func test_requestRecords_goWithTheSession() {
        var home = TestShard(1), other = TestShard(2)
        let a = home.open()
        other.acquire("x", a, id: req("acq"))
        other.apply(.dropSession(a))
        XCTAssertEqual(other.acquire("x", a, id: req("acq")).reply, .sessionExpired)
        XCTAssertEqual(other.table.knownSessions(), [])
    }
}

extension LockTable {
    /// The snapshot image without the applied index, to compare states across entries.
    func encodeBody() -> [UInt8] {
        var copy = self
        copy.appliedIndex = 0
        return copy.encode()
    }
}
