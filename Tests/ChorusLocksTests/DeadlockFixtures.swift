import ChorusBase
@testable import ChorusLocks

/// Shards whose tables hold an n-session wait cycle: session i (at home on shard i) holds
/// lock `L<i>` on shard i and waits for `L<i+1>` on shard i+1, so every edge of the cycle
/// lives on a different shard. Ages come from a seeded shuffle so the youngest is anywhere.
struct CycleFixture {
    var shards: [TestShard]
    var sessions: [SessionID]
    /// The epoch each shard last heard from the detector.
    var echoed: [UInt64]

    init(size n: Int, seed: UInt64, closeCycle: Bool = true) {
        var rng = SeededRandom(seed: seed)
        var ages = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { ages.swapAt(i, rng.below(i + 1)) }
        shards = (1...n).map { TestShard(UInt16($0)) }
        sessions = []
        for i in 0..<n { sessions.append(shards[i].open(openedAt: 1_000 + UInt64(ages[i]))) }
        echoed = Array(repeating: 0, count: n)
        for i in 0..<n { shards[i].acquire("L\(i)", sessions[i]) }
        for i in 0..<(closeCycle ? n : n - 1) { waitForNext(i) }
    }

    /// Session i asks for the lock of session i+1 (on shard i+1).
    @discardableResult
    mutating func waitForNext(_ i: Int) -> LockApplyResult {
        let j = (i + 1) % shards.count
        return shards[j].acquire("L\(j)", sessions[i], id: req("wait-\(i)"))
    }

    var youngest: Int { sessions.indices.max { SessionID.opensBefore(sessions[$0], sessions[$1]) } ?? 0 }

    /// The victim the detector must name: the youngest session's wait.
    var expectedVictim: DeadlockVictim {
        let i = youngest, j = (i + 1) % shards.count
        return DeadlockVictim(session: sessions[i], name: lock("L\(j)"), requestID: req("wait-\(i)"), shard: UInt16(j + 1))
    }

    func report(to detector: inout DeadlockDetector, at now: Instant, only: [UInt16]? = nil) {
        for (i, s) in shards.enumerated() where only?.contains(s.shard) ?? true {
            detector.report(shard: s.shard, edges: s.table.waitEdges(), epoch: echoed[i], at: now)
        }
    }

    /// One full exchange: every shard reports, a pass runs; shards asked for a refresh hear
    /// the epoch and report again; a second pass runs. Returns both passes.
    mutating func detectWithConfirmation(_ detector: inout DeadlockDetector, at now: Instant) -> (DetectionRound, DetectionRound) {
        report(to: &detector, at: now)
        let first = detector.detect(at: now)
        for shard in first.refresh { echoed[Int(shard) - 1] = first.epoch }
        report(to: &detector, at: now + .milliseconds(10), only: first.refresh)
        let second = detector.detect(at: now + .milliseconds(100))
        return (first, second)
    }

    /// Applies a victim's cancel on its shard.
    @discardableResult
    mutating func cancel(_ victim: DeadlockVictim) -> LockApplyResult {
        shards[Int(victim.shard) - 1].apply(victim.cancel)
    }
}
