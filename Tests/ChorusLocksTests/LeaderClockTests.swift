import ChorusBase
import XCTest
@testable import ChorusLocks

/// `SessionLeases` and `WaitDeadlines`: the leader's soft clocks.
final class LeaderClockTests: XCTestCase {
    let a = SessionID(home: 1, index: 1, openedAtMillis: 10)
    let b = SessionID(home: 1, index: 2, openedAtMillis: 20)
    let c = SessionID(home: 1, index: 3, openedAtMillis: 30)

    func test_newLeader_extendsEveryOpenSessionAFullTTL_insteadOfExpiringThem() throws {
        var leases = try SessionLeases()
        leases.opened(a, ttlMillis: 1_000, now: at(0))
        // The old leader vanished long ago; a new one takes over at t = 60 s.
        var successor = try SessionLeases()
        successor.becameLeader(sessions: [SessionInfo(id: a, ttlMillis: 1_000), SessionInfo(id: b, ttlMillis: 5_000)], now: at(60_000))
        XCTAssertEqual(successor.expired(at: at(60_000)), [])
        XCTAssertEqual(successor.deadline(of: a), at(61_000))
        XCTAssertEqual(successor.deadline(of: b), at(65_000))
        XCTAssertEqual(successor.nextDeadline, at(61_000))
    }

    func test_keepAlive_extendsTheLease_andExpiryComesInDeadlineOrder() throws {
        var leases = try SessionLeases()
        leases.opened(a, ttlMillis: 1_000, now: at(0))
        leases.opened(b, ttlMillis: 1_000, now: at(0))
        leases.opened(c, ttlMillis: 1_500, now: at(0))
        XCTAssertTrue(leases.keepAlive(a, now: at(900)))
        XCTAssertEqual(leases.expired(at: at(999)), [])
        XCTAssertEqual(leases.expired(at: at(1_000)), [b])
        // c (1.5 s), a (1.9 s), and b again: its expiry, reported at 1 s, is not applied yet.
        XCTAssertEqual(leases.expired(at: at(2_000)), [c, a, b])
    }

    func test_keepAlive_afterTheDeadline_isRefused_evenBeforeExpiryWasAskedFor() throws {
        var leases = try SessionLeases()
        leases.opened(a, ttlMillis: 1_000, now: at(0))
        XCTAssertFalse(leases.keepAlive(a, now: at(1_000)))
        XCTAssertEqual(leases.expired(at: at(1_000)), [a])
        XCTAssertFalse(leases.keepAlive(a, now: at(1_001)), "a due session is never revived")
        XCTAssertFalse(leases.keepAlive(c, now: at(0)), "unknown session")
    }

    func test_dueSession_isReportedAgainAfterReproposeAfter_untilForgotten() throws {
        var leases = try SessionLeases()
        leases.opened(a, ttlMillis: 1_000, now: at(0))
        XCTAssertEqual(leases.expired(at: at(1_000)), [a])
        XCTAssertEqual(leases.expired(at: at(1_500)), [])
        XCTAssertEqual(leases.expired(at: at(2_000)), [a])
        leases.forget(a)
        XCTAssertEqual(leases.expired(at: at(9_000)), [])
        XCTAssertNil(leases.nextDeadline)
        XCTAssertEqual(leases.count, 0)
    }

    func test_waitDeadlines_reportDueWaits_inDeadlineOrder_andForgetSettledOnes() throws {
        var waits = try WaitDeadlines()
        waits.register(lock("x"), session: a, requestID: req("ra"), waitMillis: 300, now: at(0))
        waits.register(lock("y"), session: b, requestID: req("rb"), waitMillis: 100, now: at(0))
        waits.register(lock("z"), session: c, requestID: req("rc"), waitMillis: 200, now: at(0))
        waits.forget(settledBy: [.granted(session: c, name: lock("z"), mode: .shared, requestID: req("rc"), token: FencingToken(9))])
        XCTAssertEqual(waits.nextDeadline, at(100))
        let due = waits.due(at: at(400))
        XCTAssertEqual(due, [PendingWait(name: lock("y"), session: b, requestID: req("rb")),
                             PendingWait(name: lock("x"), session: a, requestID: req("ra"))])
        XCTAssertEqual(due[0].cancel(.timeout), .cancelWait(name: lock("y"), session: b, requestID: req("rb"), reason: .timeout))
        XCTAssertEqual(waits.due(at: at(1_400)).count, 2, "reported again until forgotten")
    }

    func test_waitDeadlines_newLeader_givesEveryQueuedWaitItsFullWaitAgain() throws {
        var s = TestShard()
        let x = s.open(), y = s.open()
        s.acquire("l", x)
        s.acquire("l", y, wait: 2_000, id: req("y-wait"))
        var waits = try WaitDeadlines()
        waits.becameLeader(waits: s.table.allWaiters(), now: at(50_000))
        XCTAssertEqual(waits.deadline(of: lock("l"), session: y), at(52_000))
        XCTAssertEqual(waits.due(at: at(52_000)), [PendingWait(name: lock("l"), session: y, requestID: req("y-wait"))])
    }

    func test_deadlineQueue_keepsHeapOrder_underRandomScheduleAndRemove() {
        var q = DeadlineQueue<Int>()
        var model: [Int: Instant] = [:]
        var rng = SeededRandom(seed: 5)
        for _ in 0..<5_000 {
            let key = rng.below(200)
            if rng.below(3) == 0 { q.remove(key); model[key] = nil } else {
                let t = at(Int64(rng.below(1_000)))
                q.schedule(key, at: t); model[key] = t
            }
            XCTAssertEqual(q.count, model.count)
            let best = model.min { ($0.value, $0.key) < ($1.value, $1.key) }
            XCTAssertEqual(q.first?.key, best?.key)
        }
        let due = q.popDue(at: at(500)).map(\.key)
        XCTAssertEqual(due, model.filter { $0.value <= at(500) }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key))
    }

    func test_hugeTTLsAndWaits_areClamped_neverTrap() throws {
        var leases = try SessionLeases()
        leases.opened(a, ttlMillis: UInt64.max, now: at(1_000))
        XCTAssertTrue(leases.keepAlive(a, now: at(2_000)))
        XCTAssertEqual(leases.expired(at: at(10_000_000)), [])
        var waits = try WaitDeadlines()
        waits.register(lock("x"), session: a, requestID: req("r"), waitMillis: UInt64.max, now: at(0))
        XCTAssertEqual(waits.due(at: at(10_000_000)), [])
    }

    func test_settings_refuseNonPositiveReproposeAfter() {
        var s = LeaderClockSettings()
        s.reproposeAfter = .zero
        XCTAssertThrowsError(try SessionLeases(settings: s))
        XCTAssertThrowsError(try WaitDeadlines(settings: s))
    }
}
