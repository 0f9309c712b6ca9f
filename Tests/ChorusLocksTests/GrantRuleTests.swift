import XCTest
@testable import ChorusLocks

/// Compatibility, FIFO, writer preference, promotion and fencing tokens.
final class GrantRuleTests: XCTestCase {
    func test_exclusive_whenHeld_blocksExclusiveAndShared() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open()
        XCTAssertEqual(s.acquire("x", a).reply, .granted(lock("x"), .exclusive, FencingToken(4)))
        XCTAssertEqual(s.acquire("x", b, .exclusive).reply, .waiting)
        XCTAssertEqual(s.acquire("x", c, .shared).reply, .waiting)
        XCTAssertEqual(s.holders("x"), [a])
        XCTAssertEqual(s.waiters("x"), [b, c])
    }

    func test_shared_whenHeldShared_isGrantedAtOnce_butExclusiveWaits() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open()
        s.acquire("x", a, .shared)
        XCTAssertEqual(s.acquire("x", b, .shared).reply, .granted(lock("x"), .shared, FencingToken(5)))
        XCTAssertEqual(s.acquire("x", c, .exclusive).reply, .waiting)
        XCTAssertEqual(s.holders("x"), [a, b])
    }

    func test_tryLock_whenBusy_repliesBusy_andQueuesNothing() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        XCTAssertEqual(s.acquire("x", b, .shared, wait: 0).reply, .busy)
        XCTAssertEqual(s.waiters("x"), [])
        XCTAssertEqual(s.acquire("y", b, .shared, wait: 0).reply, .granted(lock("y"), .shared, FencingToken(5)))
    }

    func test_waiters_whenHolderReleases_areGrantedInArrivalOrder() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open(), d = s.open()
        s.acquire("x", a); s.acquire("x", b); s.acquire("x", c); s.acquire("x", d)
        var order: [SessionID] = []
        var holder = a
        for _ in 0..<3 {
            let r = s.release("x", holder)
            XCTAssertEqual(r.reply, .released)
            XCTAssertEqual(grants(r).count, 1)
            holder = grants(r)[0].0
            order.append(holder)
        }
        XCTAssertEqual(order, [b, c, d])
    }

    func test_waitingExclusive_blocksLaterShared_soWriterIsNotStarved() {
        var s = TestShard()
        let r1 = s.open(), w = s.open(), r2 = s.open()
        s.acquire("x", r1, .shared)
        XCTAssertEqual(s.acquire("x", w, .exclusive).reply, .waiting)
        XCTAssertEqual(s.acquire("x", r2, .shared).reply, .waiting, "a reader must queue behind the waiting writer")
        let released = s.release("x", r1)
        XCTAssertEqual(grants(released).map(\.0), [w])
        let writerDone = s.release("x", w)
        XCTAssertEqual(grants(writerDone).map(\.0), [r2])
    }

    func test_release_promotesConsecutiveSharedWaiters_upToTheNextExclusive() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open(), d = s.open(), e = s.open()
        s.acquire("x", a)
        s.acquire("x", b, .shared); s.acquire("x", c, .shared); s.acquire("x", d, .exclusive); s.acquire("x", e, .shared)
        let r = s.release("x", a)
        XCTAssertEqual(grants(r).map(\.0), [b, c])
        XCTAssertEqual(s.holders("x"), [b, c])
        XCTAssertEqual(s.waiters("x"), [d, e])
    }

    func test_promotedWaiters_getTheIndexOfTheReleasingEntryAsToken() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open()
        s.acquire("x", a)
        s.acquire("x", b, .shared); s.acquire("x", c, .shared)
        let r = s.release("x", a)
        XCTAssertEqual(grants(r).map(\.1), [FencingToken(s.index), FencingToken(s.index)])
        XCTAssertEqual(s.token("x", b), FencingToken(s.index))
        XCTAssertEqual(r.notifications.first, .granted(session: b, name: lock("x"), mode: .shared,
                                                       requestID: req("r1-5"), token: FencingToken(s.index)))
    }

    func test_tokens_ofSuccessiveGrantsOfOneName_strictlyIncrease() {
        var s = TestShard()
        let sessions = (0..<5).map { _ in s.open() }
        var tokens: [FencingToken] = []
        for round in 0..<20 {
            let who = sessions[round % 5]
            let r = s.acquire("x", who)
            guard case let .granted(_, _, token) = r.reply else { return XCTFail("\(r.reply)") }
            tokens.append(token)
            s.acquire("y", who) // unrelated traffic between grants
            s.release("x", who)
        }
        XCTAssertEqual(tokens, tokens.sorted())
        XCTAssertEqual(Set(tokens).count, tokens.count)
    }

    func test_release_whenNeitherHeldNorWaited_repliesNotHeld() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a)
        XCTAssertEqual(s.release("x", b).reply, .notHeld)
        XCTAssertEqual(s.release("nothing", b).reply, .notHeld)
        XCTAssertEqual(s.holders("x"), [a])
    }

    func test_release_whileOnlyWaiting_withdrawsTheWait_andTellsTheWaiter() {
        var s = TestShard()
        let a = s.open(), b = s.open(), c = s.open()
        s.acquire("x", a, .shared)
        s.acquire("x", b, .exclusive, id: req("b-wait"))
        s.acquire("x", c, .shared)
        let r = s.release("x", b)
        XCTAssertEqual(r.reply, .released)
        XCTAssertEqual(r.notifications.first, .waitFailed(session: b, name: lock("x"), requestID: req("b-wait"), reason: .withdrawn))
        XCTAssertEqual(grants(r).map(\.0), [c], "the reader behind the withdrawn writer goes through")
    }

    func test_waitMillis_aboveTheLimit_isInvalid() {
        var s = TestShard()
        let a = s.open()
        guard case .invalid = s.acquire("x", a, wait: 86_400_001).reply else { return XCTFail() }
        XCTAssertEqual(s.table.names(), [])
    }

    func test_names_withPrefix_areListedInByteOrder() {
        var s = TestShard()
        let a = s.open()
        for n in ["jobs/b", "jobs/a", "other", "jobs/c/1", "jobsx"] { s.acquire(n, a) }
        XCTAssertEqual(s.table.names(withPrefix: "jobs/").map(\.text), ["jobs/a", "jobs/b", "jobs/c/1"])
        XCTAssertEqual(s.table.names().count, 5)
        XCTAssertEqual(s.table.names(heldBy: a).map(\.text), ["jobs/a", "jobs/b", "jobs/c/1", "jobsx", "other"])
    }
}
