import ChorusRaft
import ChorusRing
import ChorusShards
import Testing

/// A group's Raft log is held in memory until a local snapshot truncates it: counting entries
/// alone lets a few thousand large entries (a queue backlog of 1 KiB bodies published in
/// batches) pile up gigabytes, so the bytes applied since the last snapshot trigger one too.
@Suite struct LogBytesSnapshotTests {
    @Test func bytesAppliedPastTheBound_takeALocalSnapshot_longBeforeTheEntryCount() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 10_000
        settings.snapshotEveryBytes = 4 << 20
        let c = try ShardTestCluster(nodes: 1, settings: settings)
        try c.bootstrap(on: n1, shards: 1)
        try #require(try c.run(maxTicks: 40) { c.host(n1).isLeader(of: ShardID(0)) })
        let value = String(repeating: "z", count: 1 << 20)
        for i in 0..<3 {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i)", value), token: UInt64(i + 1)) }
        }
        try c.tick()
        #expect(c.host(n1).counters.snapshotsTaken == 0, "3 MiB applied: below the bound")
        for i in 3..<5 {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i)", value), token: UInt64(i + 1)) }
        }
        try c.tick()
        #expect(c.host(n1).counters.snapshotsTaken == 1, "5 MiB applied in 5 entries: one snapshot")
        c.crash(n1)
        try c.start(n1)
        #expect(c.host(n1).machine(of: ShardID(0))?.values.count == 5)
    }

    @Test func nonPositiveByteBound_isRefused() {
        var s = ShardHostSettings()
        s.snapshotEveryBytes = 0
        #expect(throws: RaftSettingsError.self) { try s.validate() }
    }
}
