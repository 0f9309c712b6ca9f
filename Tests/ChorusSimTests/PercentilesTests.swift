import Testing
@testable import ChorusSim

@Suite struct PercentilesTests {
    @Test func empty_isNil() {
        #expect(Percentiles([]) == nil)
        #expect(Percentiles([.nan]) == nil)
    }

    @Test func nearestRank_onOneToHundred() throws {
        let p = try #require(Percentiles((1...100).map(Double.init).reversed()))
        #expect(p.p50 == 50 && p.p90 == 90 && p.p99 == 99 && p.max == 100 && p.min == 1)
        #expect(p.mean == 50.5 && p.count == 100)
    }

    @Test func nearestRank_isAnObservedValue() throws {
        let p = try #require(Percentiles([3, 1, 2, .nan]))
        #expect(p.p50 == 2 && p.p99 == 3 && p.max == 3 && p.count == 3)  // ⌈0.5·3⌉ = 2nd value
        let single = try #require(Percentiles([7]))
        #expect(single.p50 == 7 && single.p99 == 7)
        #expect(Percentiles.nearestRank(0, sorted: [4, 5]) == 4)
        #expect(Percentiles.nearestRank(100, sorted: [4, 5]) == 5)
    }
}
