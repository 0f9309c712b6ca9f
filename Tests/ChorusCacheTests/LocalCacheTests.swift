import ChorusBase
import Testing
@testable import ChorusCache

@Suite struct LocalCacheTests {
    typealias Departed = [(CacheKey, Int, LocalCache<Int>.Departure)]
    let never = Instant.distantFuture
    let overhead = LocalCache<Int>.entryOverhead

    @Test func get_marksEntryMostRecent_soTheOtherIsEvictedFirst() {
        var cache = LocalCache<Int>(capacity: 3 * (overhead + 2))
        var departed: Departed = []
        for (i, k) in ["a", "b", "c"].enumerated() {
            cache.put(CacheKey(k), i, cost: 1, expires: never, departed: &departed)
        }
        _ = cache.get(CacheKey("a"), at: .zero, departed: &departed)
        cache.put(CacheKey("d"), 3, cost: 1, expires: never, departed: &departed)
        #expect(departed.map(\.0) == [CacheKey("b")])
        #expect(departed.first?.2 == .evicted)
        #expect(cache.keysByRecency == [CacheKey("d"), CacheKey("a"), CacheKey("c")])
    }

    @Test func put_overBudget_evictsLeastRecentUntilBytesFit() {
        var cache = LocalCache<Int>(capacity: 1_000)
        var departed: Departed = []
        for i in 0..<10 { cache.put(CacheKey("k\(i)"), i, cost: 100 - overhead - 2, expires: never, departed: &departed) }
        #expect(cache.bytes == 1_000)
        cache.put(CacheKey("big"), 0, cost: 300, expires: never, departed: &departed)
        #expect(cache.bytes <= 1_000)
        #expect(departed.map(\.0) == (0..<4).map { CacheKey("k\($0)") })
    }

    @Test func put_largerThanCapacity_isRefused_andDropsTheOldEntry() {
        var cache = LocalCache<Int>(capacity: 200)
        var departed: Departed = []
        cache.put(CacheKey("k"), 1, cost: 10, expires: never, departed: &departed)
        #expect(!cache.put(CacheKey("k"), 2, cost: 500, expires: never, departed: &departed))
        #expect(cache.peek(CacheKey("k")) == nil)
        #expect(cache.bytes == 0)
    }

    @Test func get_afterExpiry_missesAndReportsExpired() {
        var cache = LocalCache<Int>(capacity: 1_000)
        var departed: Departed = []
        cache.put(CacheKey("k"), 1, cost: 1, expires: Instant(nanoseconds: 10), departed: &departed)
        #expect(cache.get(CacheKey("k"), at: Instant(nanoseconds: 9), departed: &departed) == 1)
        #expect(cache.get(CacheKey("k"), at: Instant(nanoseconds: 10), departed: &departed) == nil)
        #expect(departed.map(\.2) == [.expired])
        #expect(cache.isEmpty && cache.bytes == 0)
    }

    @Test func randomOperations_matchAReferenceModel_andKeepBytesWithinCapacity() {
        var rng = SeededRandom(seed: 9)
        var cache = LocalCache<Int>(capacity: 2_000)
        var model: [(key: CacheKey, value: Int, cost: Int)] = []   // most recent first
        var departed: Departed = []
        for step in 0..<20_000 {
            let key = CacheKey("k\(rng.below(40))")
            switch rng.below(3) {
            case 0:
                let cost = rng.below(200)
                let full = key.bytes.count + cost + overhead
                cache.put(key, step, cost: cost, expires: never, departed: &departed)
                model.removeAll { $0.key == key }
                model.insert((key, step, full), at: 0)
                while model.reduce(0, { $0 + $1.cost }) > 2_000 { model.removeLast() }
            case 1:
                let got = cache.get(key, at: .zero, departed: &departed)
                if let i = model.firstIndex(where: { $0.key == key }) {
                    #expect(got == model[i].value)
                    model.insert(model.remove(at: i), at: 0)
                } else {
                    #expect(got == nil)
                }
            default:
                cache.remove(key)
                model.removeAll { $0.key == key }
            }
            #expect(cache.bytes <= 2_000)
        }
        #expect(cache.keysByRecency == model.map(\.key))
        #expect(cache.bytes == model.reduce(0) { $0 + $1.cost })
    }
}
