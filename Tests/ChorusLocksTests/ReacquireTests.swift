import XCTest
@testable import ChorusLocks

/// Re-acquire and upgrade.
final class ReacquireTests: XCTestCase {
    func test_reacquire_inTheModeHeld_returnsTheSameToken_andChangesNothing() {
        var s = TestShard()
        let a = s.open()
        let first = s.acquire("x", a, .shared).reply
        let before = s.table
        let again = s.acquire("x", a, .shared).reply
        XCTAssertEqual(again, first)
        XCTAssertEqual(s.table.holders(of: lock("x")), before.holders(of: lock("x")))
    }

    func test_reacquireShared_whileHoldingExclusive_returnsTheExclusiveGrant() {
        var s = TestShard()
        let a = s.open()
        let first = s.acquire("x", a, .exclusive).reply
        XCTAssertEqual(s.acquire("x", a, .shared).reply, first)
        XCTAssertEqual(s.table.holders(of: lock("x")).map(\.mode), [.exclusive])
    }

    func test_upgrade_bySoleSharedHolder_isImmediate_withANewToken() {
        var s = TestShard()
        let a = s.open()
        s.acquire("x", a, .shared)
        let r = s.acquire("x", a, .exclusive)
        XCTAssertEqual(r.reply, .granted(lock("x"), .exclusive, FencingToken(s.index)))
        XCTAssertEqual(s.table.holders(of: lock("x")), [LockHolder(name: lock("x"), session: a, mode: .exclusive, token: FencingToken(s.index))])
    }

    func test_upgrade_bySoleHolder_passesQueuedWaiters_insteadOfDeadlockingWithThem() {
        var s = TestShard()
        let a = s.open(), w = s.open()
        s.acquire("x", a, .shared)
        s.acquire("x", w, .exclusive) // waits for a
        XCTAssertEqual(s.acquire("x", a, .exclusive).reply, .granted(lock("x"), .exclusive, FencingToken(s.index)))
        XCTAssertEqual(s.waiters("x"), [w])
    }

    func test_upgrade_withAnotherSharedHolder_queuesAheadOfWaiters_keepingTheSharedHold() {
        var s = TestShard()
        let a = s.open(), b = s.open(), w = s.open()
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        s.acquire("x", w, .exclusive)
        XCTAssertEqual(s.acquire("x", a, .exclusive).reply, .waiting)
        XCTAssertEqual(s.holders("x"), [a, b])
        XCTAssertEqual(s.waiters("x"), [a, w])
        XCTAssertEqual(s.table.waiters(of: lock("x")).map(\.isUpgrade), [true, false])
        let r = s.release("x", b)
        XCTAssertEqual(grants(r).map(\.0), [a])
        XCTAssertEqual(s.table.holders(of: lock("x")).map(\.mode), [.exclusive])
        XCTAssertEqual(s.token("x", a), FencingToken(s.index))
    }

    func test_upgrade_asTryLock_whenOthersHold_isBusy_andKeepsTheSharedHold() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        XCTAssertEqual(s.acquire("x", a, .exclusive, wait: 0).reply, .busy)
        XCTAssertEqual(s.holders("x"), [a, b])
        XCTAssertEqual(s.waiters("x"), [])
    }

    func test_acquire_whileAlreadyWaiting_withAnotherRequestID_isInvalid() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        s.acquire("x", b, id: req("first"))
        guard case .invalid = s.acquire("x", b, .shared, id: req("second")).reply else { return XCTFail() }
        XCTAssertEqual(s.table.waiters(of: lock("x")).map(\.requestID), [req("first")])
    }

    func test_upgrade_byTwoSharedHolders_formsAWaitCycle() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        XCTAssertEqual(s.acquire("x", a, .exclusive).reply, .waiting)
        XCTAssertEqual(s.acquire("x", b, .exclusive).reply, .waiting)
        let pairs = s.table.waitEdges().map { [$0.waiter, $0.blocker] }
        XCTAssertTrue(pairs.contains([a, b]) && pairs.contains([b, a]), "\(pairs)")
    }
}
