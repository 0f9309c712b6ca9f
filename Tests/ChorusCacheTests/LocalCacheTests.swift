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

    @Test func touch_marksEntryMostRecent_withoutAReadAndReportsWhetherItWasThere() {
        var cache = LocalCache<Int>(capacity: 2 * (overhead + 2))
        var departed: Departed = []
        cache.put(CacheKey("a"), 1, cost: 1, expires: never, departed: &departed)
        cache.put(CacheKey("b"), 2, cost: 1, expires: never, departed: &departed)
        let touchedA = cache.touch(CacheKey("a")), touchedZ = cache.touch(CacheKey("z"))
        #expect(touchedA && !touchedZ)
        cache.put(CacheKey("c"), 3, cost: 1, expires: never, departed: &departed)
        #expect(departed.map(\.0) == [CacheKey("b")])
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

    @Test func removeExpired_dropsExactlyTheExpiredEntries_earliestFirst_likeAReferenceModel() {
        var rng = SeededRandom(seed: 21)
        var cache = LocalCache<Int>(capacity: 40 * (overhead + 10))
        var model: [CacheKey: (value: Int, expires: Int64)] = [:]
        var now: Int64 = 0
        for step in 0..<20_000 {
            let key = CacheKey("k\(rng.below(50))")
            var departed: Departed = []
            switch rng.below(4) {
            case 0, 1:
                let expires = now + Int64(rng.below(1_000))
                cache.put(key, step, cost: 1, expires: Instant(nanoseconds: expires), departed: &departed)
                model[key] = (step, expires)
                #expect(departed.isEmpty)   // 50 keys of cost 1 + overhead always fit
            case 2:
                cache.remove(key)
                model[key] = nil
            default:
                now += Int64(rng.below(50))
                cache.removeExpired(at: Instant(nanoseconds: now), departed: &departed)
                let expected = model.filter { $0.value.expires <= now }
                #expect(Set(departed.map(\.0)) == Set(expected.keys))
                #expect(departed.allSatisfy { $0.2 == .expired && model[$0.0]?.value == $0.1 })
                let instants = departed.compactMap { model[$0.0]?.expires }
                #expect(instants == instants.sorted())
                for key in expected.keys { model[key] = nil }
            }
            #expect(cache.count == model.count)
            #expect(cache.expiries.count <= 2 * cache.count + 64)
        }
    }

    @Test func refreshingOneEntryManyTimes_keepsItsStaleExpiryMarksBounded() {
        var cache = LocalCache<Int>(capacity: 1_000)
        var departed: Departed = []
        for i in 0..<10_000 {
            cache.put(CacheKey("hot"), i, cost: 1, expires: Instant(nanoseconds: Int64(i)), departed: &departed)
        }
        #expect(cache.expiries.count <= 66)
        cache.removeExpired(at: Instant(nanoseconds: 9_998), departed: &departed)
        #expect(departed.isEmpty && cache.count == 1)
        cache.removeExpired(at: Instant(nanoseconds: 9_999), departed: &departed)
        #expect(departed.map(\.1) == [9_999] && cache.isEmpty)
    }
}
