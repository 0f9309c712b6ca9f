import XCTest
@testable import ChorusLocks

/// Sessions: open, close, expire, drop, tombstones.
final class SessionTests: XCTestCase {
    func test_openSession_namesTheSessionByShardIndexAndLeaderClock() {
        var s = TestShard(3)
        let r = s.apply(.openSession(ttlMillis: 5_000, openedAtMillis: 777, requestID: req("o1")))
        XCTAssertEqual(r.reply, .sessionOpened(SessionID(home: 3, index: 1, openedAtMillis: 777)))
        XCTAssertEqual(s.table.homeSessions(), [SessionInfo(id: SessionID(home: 3, index: 1, openedAtMillis: 777), ttlMillis: 5_000)])
    }

    func test_openSession_withTTLOutsideBounds_isInvalid() {
        var s = TestShard()
        for ttl: UInt64 in [0, 999, 86_400_001] {
            guard case .invalid = s.apply(.openSession(ttlMillis: ttl, openedAtMillis: 1, requestID: req("o\(ttl)"))).reply else {
                return XCTFail("ttl \(ttl) accepted")
            }
        }
        XCTAssertEqual(s.table.homeSessions(), [])
    }

    func test_closeSession_releasesItsLocks_promotesWaiters_andFailsItsOwnWaits() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a); s.acquire("y", b)
        s.acquire("x", b, id: req("b-x"))
        s.acquire("y", a, id: req("a-y"))
        let r = s.apply(.closeSession(a, requestID: req("close")))
        XCTAssertEqual(r.reply, .sessionEnded)
        XCTAssertEqual(r.notifications, [
            .granted(session: b, name: lock("x"), mode: .exclusive, requestID: req("b-x"), token: FencingToken(s.index)),
            .waitFailed(session: a, name: lock("y"), requestID: req("a-y"), reason: .sessionExpired),
        ])
        XCTAssertEqual(s.holders("x"), [b])
        XCTAssertEqual(s.waiters("y"), [])
        XCTAssertEqual(s.acquire("z", a).reply, .sessionExpired)
        XCTAssertEqual(s.apply(.closeSession(a, requestID: req("close"))).reply, .sessionEnded, "a retried close still succeeds")
    }

    func test_expireSession_releasesLikeClose_andIsANoOpOnceGone() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        s.acquire("x", a); s.acquire("x", b)
        let r = s.apply(.expireSession(a))
        XCTAssertEqual(r.reply, .sessionEnded)
        XCTAssertEqual(grants(r).map(\.0), [b])
        let before = s.table
        XCTAssertEqual(s.apply(.expireSession(a)).reply, .sessionExpired)
        XCTAssertEqual(s.table.knownSessions(), before.knownSessions())
        XCTAssertEqual(s.apply(.closeSession(a, requestID: req("late"))).reply, .sessionExpired)
    }

    func test_closeOrExpire_onAnotherShard_isInvalid() {
        var home = TestShard(1), other = TestShard(2)
        let a = home.open()
        guard case .invalid = other.apply(.closeSession(a, requestID: req("c"))).reply else { return XCTFail() }
        guard case .invalid = other.apply(.expireSession(a)).reply else { return XCTFail() }
    }

    func test_acquire_byUnknownHomeSession_isSessionExpired() {
        var s = TestShard(1)
        XCTAssertEqual(s.acquire("x", SessionID(home: 1, index: 99, openedAtMillis: 5)).reply, .sessionExpired)
        XCTAssertEqual(s.release("x", SessionID(home: 1, index: 99, openedAtMillis: 5)).reply, .sessionExpired)
        XCTAssertEqual(s.table.knownSessions(), [])
    }

    func test_dropSession_onAnotherShard_releasesAndPromotes_thenItsTombstoneRefusesLateAcquires() {
        var home = TestShard(1), other = TestShard(2)
        let a = home.open(), b = home.open()
        other.acquire("x", a); other.acquire("x", b, id: req("b-x"))
        home.apply(.closeSession(a, requestID: req("close")))
        let r = other.apply(.dropSession(a))
        XCTAssertEqual(r.reply, .sessionEnded)
        XCTAssertEqual(r.notifications, [.granted(session: b, name: lock("x"), mode: .exclusive, requestID: req("b-x"), token: FencingToken(other.index))])
        XCTAssertTrue(other.table.isDead(a))
        XCTAssertEqual(other.acquire("y", a).reply, .sessionExpired, "an acquire that arrives after the drop")
        XCTAssertEqual(other.table.names(withPrefix: "y"), [])
        XCTAssertEqual(other.apply(.dropSession(a)).reply, .sessionEnded, "drops are idempotent")
    }

    func test_dropSession_beforeAnyRequest_stillLeavesATombstone() {
        var other = TestShard(2)
        let a = SessionID(home: 1, index: 4, openedAtMillis: 10)
        other.apply(.dropSession(a))
        XCTAssertEqual(other.acquire("x", a).reply, .sessionExpired)
    }

    func test_dropSession_ofASessionOpenAtHome_isInvalid() {
        var home = TestShard(1)
        let a = home.open()
        home.acquire("x", a)
        guard case .invalid = home.apply(.dropSession(a)).reply else { return XCTFail() }
        XCTAssertEqual(home.holders("x"), [a])
    }

    func test_tombstones_areBounded_oldestEvictedFirst() {
        var settings = LockTableSettings()
        settings.maxTombstones = 2
        var other = TestShard(2, settings: settings)
        let ids = (1...3).map { SessionID(home: 1, index: UInt64($0), openedAtMillis: 0) }
        for id in ids { other.apply(.dropSession(id)) }
        XCTAssertFalse(other.table.isDead(ids[0]), "evicted: the documented limit of the tombstone list")
        XCTAssertTrue(other.table.isDead(ids[1]))
        XCTAssertTrue(other.table.isDead(ids[2]))
    }

    func test_sessionEnd_notifications_followNameOrder_notHashOrder() {
        var s = TestShard()
        let a = s.open(), b = s.open()
        let names = (0..<40).map { "n\($0)" }
        for n in names { s.acquire(n, a) }
        for n in names.reversed() { s.acquire(n, b) }
        let r = s.apply(.expireSession(a))
        XCTAssertEqual(r.notifications.map(\.name), names.map(lock).sorted())
    }
}
