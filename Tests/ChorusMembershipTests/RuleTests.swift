import Testing
import ChorusBase
@testable import ChorusMembership

@Suite struct PrecedenceTests {
    @Test func higherIncarnationAlwaysWins() {
        for s in MemberStatus.allCases {
            for t in MemberStatus.allCases {
                #expect(supersedes((2, s), (1, t)))
                #expect(!supersedes((1, s), (2, t)))
            }
        }
    }
    @Test func sameIncarnationOrdersAliveSuspectDeadLeft() {
        #expect(supersedes((1, .suspect), (1, .alive)))
        #expect(supersedes((1, .dead), (1, .suspect)))
        #expect(supersedes((1, .left), (1, .dead)))
        #expect(!supersedes((1, .alive), (1, .suspect)))
        #expect(!supersedes((1, .alive), (1, .alive)))
    }
}

@Suite struct SuspicionTimeoutTests {
    @Test func startsAtMaximumAndShrinksToMinimumWithConfirmations() {
        let t = SuspicionTimeout(minimum: .seconds(2), maximum: .seconds(12), expectedConfirmations: 3)
        #expect(t.timeout(confirmations: 0) == .seconds(12))
        let one = t.timeout(confirmations: 1), two = t.timeout(confirmations: 2)
        #expect(one < .seconds(12) && two < one && two > .seconds(2))
        #expect(t.timeout(confirmations: 3) == .seconds(2))
        #expect(t.timeout(confirmations: 50) == .seconds(2))
    }
    @Test func minimumGrowsWithLogOfClusterSize() {
        var s = MembershipSettings()
        s.suspicionMultiplier = 2
        let small = SuspicionTimeout(settings: s, clusterSize: 10)
        let large = SuspicionTimeout(settings: s, clusterSize: 10_000)
        #expect(small.minimum == .seconds(2))
        #expect(large.minimum == .seconds(8))
        #expect(large.maximum == .seconds(48))
    }
}

@Suite struct PhiAccrualTests {
    @Test func phiRisesWithWaitAndTimeoutMatchesThreshold() {
        var p = PhiAccrual()
        for i in 0..<50 { p.record(.microseconds(900 + Int64(i % 5) * 50)) }
        let timeout = p.timeout(threshold: 8, minStdDev: 0.25)
        #expect(abs(p.phi(elapsed: timeout, minStdDev: 0.25) - 8) < 0.05)
        #expect(p.phi(elapsed: .microseconds(1000), minStdDev: 0.25) < 1)
        #expect(p.phi(elapsed: .milliseconds(100), minStdDev: 0.25) > 8)
    }
    @Test func heavyTailsWidenTheTimeout() {
        var rng = SeededRandom(seed: 7)
        var tight = PhiAccrual(), wide = PhiAccrual()
        for _ in 0..<200 {
            tight.record(.milliseconds(10))
            wide.record(.microseconds(Int64(10_000 * (rng.unit() < 0.1 ? 20 : 1))))
        }
        #expect(wide.timeout(threshold: 8, minStdDev: 0.25) > tight.timeout(threshold: 8, minStdDev: 0.25) * 2)
    }
    @Test func stdDevFloorBoundsTheTimeout() {
        var p = PhiAccrual()
        for _ in 0..<100 { p.record(.milliseconds(10)) }
        let t = p.timeout(threshold: 8, minStdDev: 0.25)
        // exp(5.61 · 0.25) ≈ 4.06 × the typical response time.
        #expect(t > .milliseconds(38) && t < .milliseconds(43))
    }
}

@Suite struct LocalHealthTests {
    @Test func scoreIsBoundedAndScalesIntervals() {
        var h = LocalHealth(maximum: 3)
        for _ in 0..<10 { h.apply(.missedNacks(1)) }
        #expect(h.score == 3)
        #expect(h.scale(.seconds(1)) == .seconds(4))
        h.apply(.probeSucceeded)
        #expect(h.score == 2)
        for _ in 0..<10 { h.apply(.probeSucceeded) }
        #expect(h.score == 0)
    }
}

@Suite struct TagsTests {
    @Test func tagsAreSortedBoundedAndValidated() throws {
        let t = try Tags(["b": "2", "a": "1"])
        #expect(t.description == "a=1,b=2")
        #expect(throws: TagsError.self) { try Tags(["": "x"]) }
        #expect(throws: TagsError.self) { try Tags(["k": String(repeating: "v", count: 600)]) }
        #expect(try t.applying([("a", nil), ("c", "3")]).description == "b=2,c=3")
    }
}
