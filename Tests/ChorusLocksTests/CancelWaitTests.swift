import XCTest
@testable import ChorusLocks

/// `cancelWait`, proposed by the leader on a timeout or a deadlock verdict.
final class CancelWaitTests: XCTestCase {
    func test_timeoutCancel_failsTheWait_andLetsTheReadersBehindItThrough() {
        var s = TestShard()
        let r1 = s.open(), w = s.open(), r2 = s.open(), r3 = s.open()
        s.acquire("x", r1, .shared)
        s.acquire("x", w, .exclusive, id: req("w"))
        s.acquire("x", r2, .shared); s.acquire("x", r3, .shared)
        let r = s.apply(.cancelWait(name: lock("x"), session: w, requestID: req("w"), reason: .timeout))
        XCTAssertEqual(r.reply, .waitCancelled)
        XCTAssertEqual(failures(r).map(\.0), [w])
        XCTAssertEqual(failures(r).map(\.1), [.timeout])
        XCTAssertEqual(grants(r).map(\.0), [r2, r3])
        XCTAssertEqual(grants(r).map(\.1), [FencingToken(s.index), FencingToken(s.index)])
        XCTAssertEqual(s.holders("x"), [r1, r2, r3])
    }

    func test_deadlockCancel_ofAnUpgrade_keepsTheSharedHold() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        s.acquire("x", a, .exclusive, id: req("a-up"))
        s.acquire("x", b, .exclusive, id: req("b-up"))
        let r = s.apply(.cancelWait(name: lock("x"), session: b, requestID: req("b-up"), reason: .deadlock))
        XCTAssertEqual(failures(r).map(\.1), [.deadlock])
        XCTAssertEqual(s.holders("x"), [a, b])
        XCTAssertEqual(s.waiters("x"), [a])
        XCTAssertEqual(s.table.waitEdges().map(\.waiter), [a])
        let released = s.release("x", b)
        XCTAssertEqual(grants(released).map(\.0), [a], "once the victim lets go, the survivor upgrades")
    }

    func test_staleCancel_forAGrantedOrReplacedWait_doesNothing() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        s.acquire("x", b, id: req("b1"))
        s.release("x", a) // b granted
        let before = s.table.encodeBody()
        XCTAssertEqual(s.apply(.cancelWait(name: lock("x"), session: b, requestID: req("b1"), reason: .timeout)).reply, .notWaiting)
        XCTAssertEqual(s.table.encodeBody(), before)
        s.release("x", b)
        s.acquire("x", a)
        s.acquire("x", b, id: req("b2"))
        XCTAssertEqual(s.apply(.cancelWait(name: lock("x"), session: b, requestID: req("b1"), reason: .deadlock)).reply, .notWaiting)
        XCTAssertEqual(s.waiters("x"), [b])
    }
}
