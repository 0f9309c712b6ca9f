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
}
