import ChorusBase
import XCTest
@testable import ChorusLocks

final class DeadlockDetectorTests: XCTestCase {
    func detector(_ settings: DetectorSettings = DetectorSettings(), firstEpoch: UInt64 = 0) -> DeadlockDetector {
        guard let d = try? DeadlockDetector(settings: settings, firstEpoch: firstEpoch) else { preconditionFailure() }
        return d
    }

    func checkCycle(size n: Int, seed: UInt64) {
        var f = CycleFixture(size: n, seed: seed)
        var d = detector()
        let (first, second) = f.detectWithConfirmation(&d, at: at(1_000))
        XCTAssertEqual(first.victims, [], "a cross-shard cycle waits for confirmation")
        XCTAssertEqual(first.refresh, (1...n).map { UInt16($0) })
        XCTAssertEqual(second.victims, [f.expectedVictim], "size \(n), seed \(seed)")
        XCTAssertEqual(second.refresh, [])
        // The victim's shard fails the wait with `deadlock`; the cycle is gone.
        let r = f.cancel(f.expectedVictim)
        XCTAssertEqual(r.reply, .waitCancelled)
        XCTAssertEqual(failures(r).map(\.0), [f.sessions[f.youngest]])
        XCTAssertEqual(failures(r).map(\.1), [.deadlock])
        let (after1, after2) = f.detectWithConfirmation(&d, at: at(4_000))
        XCTAssertEqual(after1.victims + after2.victims, [])
        XCTAssertEqual(after1.refresh, [])
    }

    func test_twoSessionCycle_acrossTwoShards_failsTheYoungestSessionsWait() {
        for seed: UInt64 in 0..<4 { checkCycle(size: 2, seed: seed) }
    }

    func test_threeSessionCycle_acrossThreeShards_failsTheYoungestSessionsWait() {
        for seed: UInt64 in 0..<6 { checkCycle(size: 3, seed: seed) }
    }

    func test_tenSessionCycle_acrossTenShards_failsTheYoungestSessionsWait() {
        for seed: UInt64 in 0..<10 { checkCycle(size: 10, seed: seed) }
    }

    func test_openChainOfTenSessions_acrossShards_isNoDeadlock() {
        var f = CycleFixture(size: 10, seed: 3, closeCycle: false)
        var d = detector()
        let (first, second) = f.detectWithConfirmation(&d, at: at(0))
        XCTAssertEqual(first.victims + second.victims, [])
        XCTAssertEqual(first.refresh, [])
    }

    func test_thousandEdgeChainWithoutCycle_overSevenShards_namesNoVictim() {
        var d = detector()
        let sessions: [SessionID] = (0...1_000).map { (i: Int) -> SessionID in
            SessionID(home: UInt16(i % 7), index: UInt64(i + 1), openedAtMillis: UInt64(1_000 - i))
        }
        var byShard: [UInt16: [WaitEdge]] = [:]
        for i in 0..<1_000 {
            let e = WaitEdge(waiter: sessions[i], blocker: sessions[i + 1], name: lock("c\(i)"), requestID: req("w\(i)"))
            byShard[UInt16(i % 7), default: []].append(e)
            if i + 2 <= 1_000 && i % 3 == 0 { // shortcuts forward: still acyclic
                byShard[UInt16(i % 7), default: []].append(WaitEdge(waiter: sessions[i], blocker: sessions[i + 2], name: lock("c\(i)"), requestID: req("w\(i)")))
            }
        }
        for shard in byShard.keys.sorted() { d.report(shard: shard, edges: byShard[shard] ?? [], at: at(0)) }
        let round = d.detect(at: at(0))
        XCTAssertEqual(round.victims, [])
        XCTAssertEqual(round.refresh, [])
        // Closing it makes one cycle of 1,001 sessions, and exactly one victim: the session
        // opened last by log position (sessions[1_000], the greatest index), whose wait is on
        // `close` at shard 9 — its wall-clock stamp (the oldest) does not matter.
        d.report(shard: 9, edges: [WaitEdge(waiter: sessions[1_000], blocker: sessions[0], name: lock("close"), requestID: req("last"))], at: at(0))
        let first = d.detect(at: at(0))
        for shard in first.refresh {
            d.report(shard: shard, edges: shard == 9 ? [WaitEdge(waiter: sessions[1_000], blocker: sessions[0], name: lock("close"), requestID: req("last"))] : byShard[shard] ?? [],
                     epoch: first.epoch, at: at(10))
        }
        XCTAssertEqual(d.detect(at: at(100)).victims, [DeadlockVictim(session: sessions[1_000], name: lock("close"), requestID: req("last"), shard: 9)])
    }

    func test_twoDisjointCycles_getOneVictimEach() {
        let a = SessionID(home: 1, index: 1, openedAtMillis: 10), b = SessionID(home: 1, index: 2, openedAtMillis: 20)
        let c = SessionID(home: 2, index: 1, openedAtMillis: 30), e = SessionID(home: 2, index: 2, openedAtMillis: 5)
        var d = detector()
        let reports: [UInt16: [WaitEdge]] = [
            1: [WaitEdge(waiter: a, blocker: b, name: lock("p"), requestID: req("a"))],
            2: [WaitEdge(waiter: b, blocker: a, name: lock("q"), requestID: req("b"))],
            3: [WaitEdge(waiter: c, blocker: e, name: lock("r"), requestID: req("c"))],
            4: [WaitEdge(waiter: e, blocker: c, name: lock("s"), requestID: req("e"))],
        ]
        for (shard, edges) in reports.sorted(by: { $0.key < $1.key }) { d.report(shard: shard, edges: edges, at: at(0)) }
        let first = d.detect(at: at(0))
        XCTAssertEqual(first.refresh, [1, 2, 3, 4])
        for (shard, edges) in reports.sorted(by: { $0.key < $1.key }) { d.report(shard: shard, edges: edges, epoch: first.epoch, at: at(10)) }
        // By log position: b (index 2) in the first cycle, e (index 2, though its clock stamp
        // is the oldest) in the second.
        XCTAssertEqual(d.detect(at: at(100)).victims, [
            DeadlockVictim(session: e, name: lock("s"), requestID: req("e"), shard: 4),
            DeadlockVictim(session: b, name: lock("q"), requestID: req("b"), shard: 2),
        ])
    }

    func test_overlappingCycles_getOneVictimPerPass_andAnInnocentYoungerWaiterIsNeverChosen() {
        var s = TestShard(1)
        let a = s.open(openedAt: 1), b = s.open(openedAt: 2), c = s.open(openedAt: 3), innocent = s.open(openedAt: 99)
        s.acquire("A", a); s.acquire("B", b); s.acquire("C", c)
        s.acquire("A", b, id: req("b-A"))          // b waits for a
        s.acquire("A", c, id: req("c-A"))          // c waits for a (and for b, queued ahead)
        s.acquire("B", a, id: req("a-B"))          // a waits for b: the cycle a ↔ b
        s.acquire("B", c, id: req("c-B"))          // c waits for b and a: still outside the cycle
        s.acquire("C", innocent, id: req("i-C"))   // the youngest session waits for c only
        var d = detector()
        d.report(shard: 1, edges: s.table.waitEdges(), at: at(0))
        let first = d.detect(at: at(0))
        XCTAssertEqual(first.victims, [DeadlockVictim(session: b, name: lock("A"), requestID: req("b-A"), shard: 1)],
                       "single-shard cycle: acted on at once; c and the innocent are in no cycle")
        XCTAssertEqual(first.refresh, [])
        s.apply(first.victims[0].cancel)
        d.report(shard: 1, edges: s.table.waitEdges(), at: at(100))
        XCTAssertEqual(d.detect(at: at(100)).victims, [])
    }

    func test_figureEightCycles_areBrokenOneVictimPerPass() {
        let a = SessionID(home: 1, index: 1, openedAtMillis: 1), b = SessionID(home: 1, index: 2, openedAtMillis: 2)
        let c = SessionID(home: 1, index: 3, openedAtMillis: 3), x = SessionID(home: 1, index: 4, openedAtMillis: 50)
        var edges = [WaitEdge(waiter: a, blocker: b, name: lock("B"), requestID: req("a-B")),
                     WaitEdge(waiter: b, blocker: a, name: lock("A"), requestID: req("b-A")),
                     WaitEdge(waiter: a, blocker: c, name: lock("C"), requestID: req("a-C")),
                     WaitEdge(waiter: c, blocker: a, name: lock("A2"), requestID: req("c-A2")),
                     WaitEdge(waiter: x, blocker: a, name: lock("A3"), requestID: req("x-A3"))]
        var d = detector()
        d.report(shard: 1, edges: edges, at: at(0))
        XCTAssertEqual(d.detect(at: at(0)).victims.map(\.session), [c], "youngest of the component; x is in no cycle")
        edges.removeAll { $0.waiter == c }
        d.report(shard: 1, edges: edges, at: at(100))
        XCTAssertEqual(d.detect(at: at(100)).victims.map(\.session), [b])
    }

    func test_staleShardEdges_areIgnored_andDropped() {
        let a = SessionID(home: 1, index: 1, openedAtMillis: 1), b = SessionID(home: 2, index: 1, openedAtMillis: 2)
        var d = detector()
        d.report(shard: 1, edges: [WaitEdge(waiter: a, blocker: b, name: lock("p"), requestID: req("a"))], at: at(0))
        d.report(shard: 2, edges: [WaitEdge(waiter: b, blocker: a, name: lock("q"), requestID: req("b"))], at: at(6_000))
        let round = d.detect(at: at(6_000))
        XCTAssertEqual(round.victims, [])
        XCTAssertEqual(round.refresh, [])
        XCTAssertEqual(d.shards, [2])
        d.forgetShard(2)
        XCTAssertEqual(d.shards, [])
    }

    func test_upgradeDeadlock_betweenTwoSharedHolders_isFoundAtOnce() {
        var s = TestShard(4)
        let older = s.open(openedAt: 10), younger = s.open(openedAt: 20)
        s.acquire("x", older, .shared); s.acquire("x", younger, .shared)
        s.acquire("x", younger, .exclusive, id: req("y-up"))
        s.acquire("x", older, .exclusive, id: req("o-up"))
        var d = detector()
        d.report(shard: 4, edges: s.table.waitEdges(), at: at(0))
        let round = d.detect(at: at(0))
        XCTAssertEqual(round.victims, [DeadlockVictim(session: younger, name: lock("x"), requestID: req("y-up"), shard: 4)])
        s.apply(round.victims[0].cancel)
        XCTAssertEqual(s.release("x", younger).reply, .released)
        XCTAssertEqual(s.table.holders(of: lock("x")).map(\.mode), [.exclusive])
    }

    func test_phantomCycle_fromReportsOfDifferentAges_isNotConfirmed() {
        // Shard 1 reported A waiting for B; then A was granted, B released on shard 1 and
        // went to wait for A on shard 2. The union shows a cycle that never existed.
        let a = SessionID(home: 1, index: 1, openedAtMillis: 1), b = SessionID(home: 2, index: 1, openedAtMillis: 2)
        var d = detector()
        d.report(shard: 1, edges: [WaitEdge(waiter: a, blocker: b, name: lock("p"), requestID: req("a"))], at: at(0))
        d.report(shard: 2, edges: [WaitEdge(waiter: b, blocker: a, name: lock("q"), requestID: req("b"))], at: at(50))
        let first = d.detect(at: at(100))
        XCTAssertEqual(first.victims, [])
        XCTAssertEqual(first.refresh, [1, 2])
        d.report(shard: 1, edges: [], epoch: first.epoch, at: at(110))
        d.report(shard: 2, edges: [WaitEdge(waiter: b, blocker: a, name: lock("q"), requestID: req("b"))], epoch: first.epoch, at: at(110))
        let second = d.detect(at: at(200))
        XCTAssertEqual(second.victims, [])
        XCTAssertEqual(second.refresh, [])
    }

    func test_namedVictim_isNotNamedAgainWhileItsCancelIsOnItsWay_butIsAfterVictimRetry() {
        var s = TestShard(1)
        let a = s.open(openedAt: 1), b = s.open(openedAt: 2)
        s.acquire("x", a, .shared); s.acquire("x", b, .shared)
        s.acquire("x", a, .exclusive); s.acquire("x", b, .exclusive, id: req("b-up"))
        var d = detector()
        let expected = [DeadlockVictim(session: b, name: lock("x"), requestID: req("b-up"), shard: 1)]
        d.report(shard: 1, edges: s.table.waitEdges(), at: at(0))
        XCTAssertEqual(d.detect(at: at(0)).victims, expected)
        d.report(shard: 1, edges: s.table.waitEdges(), at: at(250))
        XCTAssertEqual(d.detect(at: at(300)).victims, [], "no second victim (a) for the same cycle")
        d.report(shard: 1, edges: s.table.waitEdges(), at: at(2_000))
        XCTAssertEqual(d.detect(at: at(2_000)).victims, expected, "the cancel was lost: named again")
    }

    func test_epochEchoedFromAnEarlierDetector_cannotConfirmANewCandidate() {
        let a = SessionID(home: 1, index: 1, openedAtMillis: 1), b = SessionID(home: 2, index: 1, openedAtMillis: 2)
        let e1 = [WaitEdge(waiter: a, blocker: b, name: lock("p"), requestID: req("a"))]
        let e2 = [WaitEdge(waiter: b, blocker: a, name: lock("q"), requestID: req("b"))]
        var d = detector(firstEpoch: 7 << 32)
        d.report(shard: 1, edges: e1, epoch: (6 << 32) + 1, at: at(0))
        d.report(shard: 2, edges: e2, epoch: (9 << 32), at: at(0)) // bogus: above ours, counts as 0
        let first = d.detect(at: at(0))
        XCTAssertEqual(first.epoch, (7 << 32) + 1)
        XCTAssertEqual(first.refresh, [1, 2])
        d.report(shard: 1, edges: e1, epoch: first.epoch, at: at(10))
        XCTAssertEqual(d.detect(at: at(100)).victims, [], "shard 2 has not echoed the new epoch")
        d.report(shard: 2, edges: e2, epoch: first.epoch, at: at(110))
        XCTAssertEqual(d.detect(at: at(200)).victims.map(\.session), [b])
    }

    func test_settings_validation_refusesABudgetThatMissesTheBound() {
        var s = DetectorSettings()
        XCTAssertNoThrow(try s.validate())
        XCTAssertEqual(s.worstCaseLatency, .milliseconds(450))
        s.reportInterval = .milliseconds(600)
        XCTAssertThrowsError(try DeadlockDetector(settings: s))
        s = DetectorSettings(); s.staleness = .milliseconds(300)
        XCTAssertThrowsError(try s.validate())
        s = DetectorSettings(); s.detectionInterval = .zero
        XCTAssertThrowsError(try s.validate())
    }
}
