import Testing
@testable import ChorusCLI

/// The statistics `chorus bench lock` reports: nearest-rank percentiles and the mean of known
/// samples, and the success rate with its failure kinds.
@Suite struct LatencySummaryTests {
    @Test func oneToHundred_percentilesAreTheNearestRanks() throws {
        let s = try #require(LatencySummary((1...100).map(Double.init).reversed()))
        #expect(s.count == 100)
        #expect(s.mean == 50.5)
        #expect(s.min == 1 && s.max == 100)
        #expect(s.p50 == 50 && s.p95 == 95 && s.p99 == 99)
    }

    @Test func tenValues_p95AndP99AreTheLargest() throws {
        // rank ⌈0.95 · 10⌉ = 10 and ⌈0.99 · 10⌉ = 10; rank ⌈0.5 · 10⌉ = 5.
        let s = try #require(LatencySummary([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]))
        #expect(s.mean == 3.9)
        #expect(s.p50 == 3 && s.p95 == 9 && s.p99 == 9)
    }

    @Test func oneValue_isEveryStatistic() throws {
        let s = try #require(LatencySummary([0.7]))
        #expect([s.mean, s.min, s.p50, s.p95, s.p99, s.max] == [0.7, 0.7, 0.7, 0.7, 0.7, 0.7])
    }

    @Test func manyEqualValues_meanStaysInsideThem() throws {
        let s = try #require(LatencySummary([Double](repeating: 0.1, count: 10_001)))
        #expect(s.min <= s.mean && s.mean <= s.max)
    }

    @Test func emptyOrNaN_isNil_andNaNsAreIgnored() throws {
        #expect(LatencySummary([]) == nil)
        #expect(LatencySummary([.nan]) == nil)
        let s = try #require(LatencySummary([.nan, 2, 4]))
        #expect(s.count == 2 && s.mean == 3 && s.p50 == 2 && s.p99 == 4)
    }

    @Test func tally_successRateCountsEveryFailureKind() throws {
        var t = LockBenchTally()
        #expect(t.successRate == nil)
        for _ in 0..<7 { t.succeeded() }
        t.failed(.connection)
        t.failed(.timeout)
        t.failed(.connection)
        #expect(t.attempts == 10 && t.successes == 7)
        #expect(t.successRate == 0.7)
        #expect(t.failureList.map(\.kind) == [.connection, .timeout])
        #expect(t.failureList.map(\.count) == [2, 1])
        var sum = LockBenchTally()
        sum.add(t)
        sum.add(t)
        #expect(sum.attempts == 20 && sum.failures == [.connection: 4, .timeout: 2])
    }

    @Test func failureKind_ofStatus() {
        #expect(LockBenchFailureKind.of(status: 421) == .notLeader)
        #expect(LockBenchFailureKind.of(status: 429) == .overloaded)
        #expect(LockBenchFailureKind.of(status: 408) == .connection)
        #expect(LockBenchFailureKind.of(status: 404) == .refused)
        #expect(LockBenchFailureKind.of(status: 503) == .serverError)
    }
}
