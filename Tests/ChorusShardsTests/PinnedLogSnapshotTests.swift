import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Testing

/// The shards' shared log deletes segments by prefix only: a group that never reaches its own
/// snapshot thresholds would pin every segment after its first entry, so a busy shard beside
/// idle ones would keep everything it ever wrote on disk. The driver has the pinning group
/// snapshot once the log holds more than `ShardStore.segmentsBeforePinnedSnapshot` segments.
@Suite struct PinnedLogSnapshotTests {
    @Test func idleGroupPinningTheLog_isSnapshotted_andTheLogStaysShort_acrossARestart() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 10_000
        settings.snapshotEveryBytes = 1 << 20
        let c = try ShardTestCluster(nodes: 0, settings: settings)
        c.logSettings = SegmentLogSettings(segmentBytes: 256 << 10)
        try c.add(n1)
        try c.bootstrap(on: n1, shards: 3)
        try #require(try c.run(maxTicks: 60) { (0..<3).allSatisfy { c.host(n1).isLeader(of: ShardID($0)) } })
        // Shards 1 and 2 apply one small entry each and then stay idle: far below either bound.
        for s in 1...2 {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(s), requestID: bytes("idle\(s)"), command: put("i\(s)", "v"), token: UInt64(100 + s)) }
        }
        try c.tick()
        // Shard 0 writes 8 MiB: 32 segments of 256 KiB, a local snapshot every 1 MiB.
        let value = String(repeating: "b", count: 128 << 10)
        for i in 0..<64 {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i % 8)", value), token: UInt64(i + 1)) }
            try c.tick()
        }
        try c.tick()
        let fs = c.member(n1).fileSystem
        let segments = try fs.listDirectory(at: "/data/log").filter { $0.hasSuffix(".seg") }.count
        #expect(segments <= ShardStore.segmentsBeforePinnedSnapshot + 2, "\(segments) segments kept for 8 MiB written, 1 MiB live")
        for s in 1...2 {
            let stored = try #require(try c.member(n1).store?.snapshots.load(group: UInt64(s)))
            #expect(stored.index > 1, "shard \(s)'s idle log was snapshotted (at \(stored.index))")
        }
        c.crash(n1)
        try c.start(n1)
        #expect(c.host(n1).machine(of: ShardID(0))?.values.count == 8)
        #expect(c.host(n1).machine(of: ShardID(1))?.values[bytes("i1")] == bytes("v"))
        #expect(c.host(n1).machine(of: ShardID(2))?.values[bytes("i2")] == bytes("v"))
    }
}
