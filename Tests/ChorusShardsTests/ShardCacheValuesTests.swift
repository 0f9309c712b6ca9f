import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire
import XCTest

/// The cache's durable side of a shard: write-throughs round-trip, apply once per home
/// transaction and never let an older transaction overwrite a newer one; the image keeps
/// them; decoders are total.
final class ShardCacheValuesTests: XCTestCase {
    func write(_ key: String, _ value: String?, version: UInt64, epoch: UInt64, counter: UInt64) -> [UInt8] {
        ShardCommand.cache(.write(key: Array(key.utf8), value: value.map { Array($0.utf8) }, version: version, epoch: epoch,
                                  counter: counter)).encoded()
    }

    func testCacheWrite_roundTrips_withValueAndDeletion() throws {
        for c in [ShardCommand.cache(.write(key: [1], value: [2, 3], version: 4, epoch: 5, counter: 6)),
                  .cache(.write(key: [1], value: nil, version: 0, epoch: 0, counter: 0)),
                  .cache(.write(key: [1], value: [], version: .max, epoch: .max, counter: .max))] {
            XCTAssertEqual(try ShardCommand(decoding: c.encoded()), c)
        }
    }

    func testCacheWrite_appliesOncePerTransaction_andNeverBackwards() {
        var s = ShardState(shard: ShardID(0))
        XCTAssertEqual(s.apply(write("k", "a", version: 1, epoch: 2, counter: 1), at: LogIndex(1)), [0])
        XCTAssertEqual(s.apply(write("k", "a", version: 1, epoch: 2, counter: 1), at: LogIndex(2)), [1])
        XCTAssertEqual(s.apply(write("k", "old", version: 9, epoch: 1, counter: 50), at: LogIndex(3)), [1])
        XCTAssertEqual(s.cache.value(of: Array("k".utf8)).value, Array("a".utf8))
        XCTAssertEqual(s.apply(write("k", nil, version: 2, epoch: 3, counter: 1), at: LogIndex(4)), [0])
        XCTAssertEqual(s.cache.value(of: Array("k".utf8)).value, nil)
        XCTAssertEqual(s.cache.value(of: Array("k".utf8)).version, 2)
        XCTAssertEqual(s.cache.value(of: Array("never".utf8)).version, 0)
    }

    func testVersionTwoImage_isStillRead_withoutCacheValues() throws {
        var s = ShardState(shard: ShardID(2))
        _ = s.apply(ShardCommand.put(key: [1], value: [2]).encoded(), at: LogIndex(1))
        var v2 = s.image()
        XCTAssertEqual(v2.removeLast(), 0, "the version floor ends the image")
        XCTAssertEqual(v2.removeLast(), 0, "an empty cache section is one zero count")
        v2[0] = 2
        let restored = try ShardState(shard: ShardID(2), image: v2)
        XCTAssertEqual(restored.values[[1]], [2])
        XCTAssertTrue(restored.cache.records.isEmpty)
    }

    func testImage_keepsCacheValues_andItsDecoderIsTotal() throws {
        var s = ShardState(shard: ShardID(1))
        for i in 0..<20 { _ = s.apply(write("k\(i % 7)", i % 3 == 0 ? nil : "v\(i)", version: UInt64(i), epoch: 1, counter: UInt64(i + 1)), at: LogIndex(UInt64(i + 1))) }
        let image = s.image()
        let restored = try ShardState(shard: ShardID(1), image: image)
        XCTAssertEqual(restored, s)
        XCTAssertEqual(restored.image(), image)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<20_000 {
            var x = image
            x[Int(rng.next() % UInt64(x.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            if rng.next() % 2 == 0 { x = Array(x.prefix(Int(rng.next() % UInt64(x.count)))) }
            guard let r = try? ShardState(shard: ShardID(1), image: x) else { continue }
            XCTAssertEqual(try ShardState(shard: ShardID(1), image: r.image()), r)
        }
    }

    func increment(_ key: String, by: Int64, now: UInt64 = 1_000, counter: UInt64) -> [UInt8] {
        ShardCommand.cache(.increment(key: Array(key.utf8), by: by, nowMillis: now, version: counter, epoch: 1, counter: counter)).encoded()
    }

    func result(_ reply: [UInt8]) -> String? {
        ShardCacheValues.resultingValue(of: reply).flatMap { $0.value }.map { String(decoding: $0, as: UTF8.self) }
    }

    func testExpiringWriteAndIncrement_roundTrip() throws {
        for c in [ShardCommand.cache(.write(key: [1], value: [2], version: 1, epoch: 2, counter: 3, expiresAtMillis: 1_700_000_000_000)),
                  .cache(.increment(key: [1], by: .min, nowMillis: 5, version: 1, epoch: 2, counter: 3)),
                  .cache(.increment(key: [1], by: .max, nowMillis: .max, version: 1, epoch: 2, counter: 3)),
                  .cache(.increment(key: [1], by: -1, nowMillis: 0, version: 0, epoch: 0, counter: 0))] {
            XCTAssertEqual(try ShardCommand(decoding: c.encoded()), c)
        }
    }

    func testIncrement_ofAMissingKeyStartsAtZero_andAddsInOrder() {
        var s = ShardState(shard: ShardID(0))
        XCTAssertEqual(result(s.apply(increment("n", by: 1, counter: 1), at: LogIndex(1))), "1")
        XCTAssertEqual(result(s.apply(increment("n", by: 41, counter: 2), at: LogIndex(2))), "42")
        XCTAssertEqual(result(s.apply(increment("n", by: -50, counter: 3), at: LogIndex(3))), "-8")
        XCTAssertEqual(s.apply(increment("n", by: 1000, counter: 3), at: LogIndex(4)), [ShardCacheValues.Reply.ignored], "once per transaction")
        XCTAssertEqual(s.cache.value(of: Array("n".utf8)).value, Array("-8".utf8))
    }

    func testIncrement_ofANonInteger_isRefused_andChangesNothing() {
        var s = ShardState(shard: ShardID(0))
        for (i, text) in ["abc", "", " 1", "1 ", "+1", "01", "-0", "1.5", "99999999999999999999", "-"].enumerated() {
            let key = "k\(i)"
            XCTAssertEqual(s.apply(write(key, text, version: 1, epoch: 1, counter: 1), at: LogIndex(UInt64(2 * i + 1))), [0])
            XCTAssertEqual(s.apply(increment(key, by: 1, counter: 2), at: LogIndex(UInt64(2 * i + 2))), [ShardCacheValues.Reply.refused], text)
            XCTAssertEqual(s.cache.value(of: Array(key.utf8)).value, Array(text.utf8))
            XCTAssertEqual(s.cache.value(of: Array(key.utf8)).version, 1)
        }
    }

    func testIncrement_thatWouldOverflow_isRefused_withoutATrap() {
        var s = ShardState(shard: ShardID(0))
        _ = s.apply(write("max", String(Int64.max), version: 1, epoch: 1, counter: 1), at: LogIndex(1))
        XCTAssertEqual(s.apply(increment("max", by: 1, counter: 2), at: LogIndex(2)), [ShardCacheValues.Reply.refused])
        _ = s.apply(write("min", String(Int64.min), version: 1, epoch: 1, counter: 3), at: LogIndex(3))
        XCTAssertEqual(s.apply(increment("min", by: -1, counter: 4), at: LogIndex(4)), [ShardCacheValues.Reply.refused])
        XCTAssertEqual(result(s.apply(increment("min", by: .max, counter: 5), at: LogIndex(5))), "-1")
        XCTAssertEqual(s.apply(increment("fresh", by: .min, counter: 6), at: LogIndex(6)).first, ShardCacheValues.Reply.appliedWithValue)
        XCTAssertEqual(s.cache.value(of: Array("fresh".utf8)).value, Array(String(Int64.min).utf8))
    }

    func testIncrement_keepsALiveExpiry_andTreatsAnExpiredValueAsAbsent() {
        var s = ShardState(shard: ShardID(0))
        let w = ShardCommand.cache(.write(key: Array("t".utf8), value: Array("10".utf8), version: 1, epoch: 1, counter: 1,
                                          expiresAtMillis: 5_000)).encoded()
        XCTAssertEqual(s.apply(w, at: LogIndex(1)), [0])
        let live = s.apply(increment("t", by: 1, now: 4_999, counter: 2), at: LogIndex(2))
        XCTAssertEqual(ShardCacheValues.resultingValue(of: live)?.expiresAtMillis, 5_000)
        XCTAssertEqual(result(live), "11")
        let expired = s.apply(increment("t", by: 1, now: 5_000, counter: 3), at: LogIndex(3))
        XCTAssertEqual(result(expired), "1", "expired at its instant: the increment starts from 0")
        XCTAssertNil(ShardCacheValues.resultingValue(of: expired)?.expiresAtMillis, "and the new value does not expire")
    }

    func testImage_keepsExpiries_andAVersionThreeImageIsStillRead() throws {
        var s = ShardState(shard: ShardID(4))
        let w = ShardCommand.cache(.write(key: [7], value: [8], version: 1, epoch: 1, counter: 1, expiresAtMillis: 123_456)).encoded()
        _ = s.apply(w, at: LogIndex(1))
        let image = s.image()
        XCTAssertEqual(image[0], 5)
        let restored = try ShardState(shard: ShardID(4), image: image)
        XCTAssertEqual(restored.cache.record(of: [7])?.expiresAtMillis, 123_456)
        XCTAssertEqual(restored, s)

        // A version-3 image is the same without the expiry flag after each record's counter.
        var plain = ShardState(shard: ShardID(4))
        _ = plain.apply(write("k", "v", version: 1, epoch: 1, counter: 1), at: LogIndex(1))
        var v3 = plain.image()
        XCTAssertEqual(v3.removeLast(), 0, "the version floor ends the image")
        XCTAssertEqual(v3.removeLast(), 0, "the one record's expiry flag ends the records")
        v3[0] = 3
        let old = try ShardState(shard: ShardID(4), image: v3)
        XCTAssertEqual(old.cache.value(of: Array("k".utf8)).value, Array("v".utf8))
        XCTAssertNil(old.cache.record(of: Array("k".utf8))?.expiresAtMillis)
        XCTAssertEqual(old, plain)
    }

    func expiring(_ key: String, at expiresAt: UInt64?, version: UInt64, counter: UInt64) -> [UInt8] {
        ShardCommand.cache(.write(key: Array(key.utf8), value: Array("v\(version)".utf8), version: version, epoch: 1,
                                  counter: counter, expiresAtMillis: expiresAt)).encoded()
    }

    func purge(_ keys: [String], now: UInt64) -> [UInt8] {
        ShardCommand.cache(.purge(nowMillis: now, keys: keys.map { Array($0.utf8) })).encoded()
    }

    func testPurge_roundTrips_andRefusesMoreKeysThanItsBound() throws {
        let c = ShardCommand.cache(.purge(nowMillis: 77, keys: [[1], [2, 3], []]))
        XCTAssertEqual(try ShardCommand(decoding: c.encoded()), c)
        let full = ShardCommand.cache(.purge(nowMillis: 1, keys: (0..<CacheShardCommand.maxPurgeKeys).map { [UInt8(truncatingIfNeeded: $0)] }))
        XCTAssertEqual(try ShardCommand(decoding: full.encoded()), full)
        let over = ShardCommand.cache(.purge(nowMillis: 1, keys: (0...CacheShardCommand.maxPurgeKeys).map { [UInt8(truncatingIfNeeded: $0)] }))
        XCTAssertThrowsError(try ShardCommand(decoding: over.encoded()))
    }

    func testPurge_removesOnlyListedRecordsExpiredAtItsTime_andKeepsVersionsGrowing() {
        var s = ShardState(shard: ShardID(0))
        _ = s.apply(expiring("gone", at: 1_000, version: 7, counter: 1), at: LogIndex(1))
        _ = s.apply(expiring("edge", at: 2_000, version: 3, counter: 2), at: LogIndex(2))
        _ = s.apply(expiring("later", at: 2_001, version: 4, counter: 3), at: LogIndex(3))
        _ = s.apply(expiring("forever", at: nil, version: 5, counter: 4), at: LogIndex(4))
        _ = s.apply(write("deleted", nil, version: 6, epoch: 1, counter: 5), at: LogIndex(5))
        _ = s.apply(expiring("unlisted", at: 10, version: 9, counter: 6), at: LogIndex(6))
        XCTAssertEqual(s.cache.expiring, 4)
        XCTAssertEqual(s.cache.expiredKeys(at: 2_000, limit: 10).map { String(decoding: $0, as: UTF8.self) },
                       ["edge", "gone", "unlisted"])

        let reply = s.apply(purge(["gone", "edge", "later", "forever", "deleted", "missing"], now: 2_000), at: LogIndex(7))
        XCTAssertEqual(reply, [0, 2], "applied, two records removed")
        XCTAssertNil(s.cache.record(of: Array("gone".utf8)))
        XCTAssertNil(s.cache.record(of: Array("edge".utf8)), "an expiry at the purge's instant has passed")
        for kept in ["later", "forever", "deleted", "unlisted"] { XCTAssertNotNil(s.cache.record(of: Array(kept.utf8)), kept) }
        XCTAssertEqual(s.cache.expiring, 2)
        XCTAssertEqual(s.cache.value(of: Array("gone".utf8)).version, 7, "an absent key reads at the largest purged version")
        XCTAssertEqual(s.cache.value(of: Array("never".utf8)).version, 7)

        // A purge proposed before a rewrite, applied after it, leaves the new value.
        _ = s.apply(expiring("later", at: 90_000, version: 5, counter: 7), at: LogIndex(8))
        XCTAssertEqual(s.apply(purge(["later"], now: 3_000), at: LogIndex(9)), [0, 0])
        XCTAssertEqual(s.cache.value(of: Array("later".utf8)).value, Array("v5".utf8))
    }

    func testExpiredKeys_areBoundedAndTheSameOnEveryReplica_andAPurgeReplaysIdentically() throws {
        var a = ShardState(shard: ShardID(3))
        var rng = SeededRandom(seed: 11)
        for i in 0..<6_000 {
            let at: UInt64? = i % 5 == 0 ? nil : rng.next() % 10_000
            _ = a.apply(expiring("k\(rng.next() % 5_000)", at: at, version: UInt64(i + 1), counter: UInt64(i + 1)),
                        at: LogIndex(UInt64(i + 1)))
        }
        // A replica rebuilt from the image, whose dictionaries were filled in another order.
        var b = try ShardState(shard: ShardID(3), image: a.image())
        XCTAssertEqual(a, b)
        let keys = a.cache.expiredKeys(at: 6_000, limit: CacheShardCommand.maxPurgeKeys)
        XCTAssertEqual(keys.count, CacheShardCommand.maxPurgeKeys, "more than the bound have expired")
        XCTAssertEqual(keys, b.cache.expiredKeys(at: 6_000, limit: CacheShardCommand.maxPurgeKeys))
        XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) })
        let before = a.cache.records.count
        let command = ShardCommand.cache(.purge(nowMillis: 6_000, keys: keys)).encoded()
        _ = a.apply(command, at: LogIndex(10_000))
        _ = b.apply(command, at: LogIndex(10_000))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.image(), b.image())
        XCTAssertEqual(a.cache.records.count, before - keys.count)
        // Rounds of purges empty the shard of what expired, and nothing else.
        var rounds = 1
        while case let next = a.cache.expiredKeys(at: 6_000, limit: CacheShardCommand.maxPurgeKeys), !next.isEmpty {
            XCTAssertLessThanOrEqual(next.count, CacheShardCommand.maxPurgeKeys)
            _ = a.apply(ShardCommand.cache(.purge(nowMillis: 6_000, keys: next)).encoded(), at: LogIndex(UInt64(10_000 + rounds)))
            rounds += 1
        }
        XCTAssertGreaterThan(rounds, 1)
        XCTAssertTrue(a.cache.records.values.allSatisfy { $0.expiresAtMillis.map { $0 > 6_000 } ?? true })
        XCTAssertEqual(a.cache.expiring, a.cache.records.values.filter { $0.expiresAtMillis != nil }.count)
        XCTAssertEqual(try ShardState(shard: ShardID(3), image: a.image()), a)
    }
}
