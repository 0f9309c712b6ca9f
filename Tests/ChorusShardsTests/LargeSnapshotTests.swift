import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Testing

/// Snapshots larger than a message frame on disk, and snapshots that cannot be read back.
@Suite struct LargeSnapshotTests {
    @Test func stateLargerThanAFrame_isSnapshotted_restartsFromDisk_andIsCopiedToANewReplica() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 17
        let c = try ShardTestCluster(nodes: 1, settings: settings)
        try c.bootstrap(on: n1, shards: 1)
        try #require(try c.run(maxTicks: 40) { c.host(n1).isLeader(of: ShardID(0)) })
        let value = String(repeating: "x", count: ShardCommand.maxValueBytes)
        for i in 0..<17 {
            let token = UInt64(i + 1)
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i)", value), token: token) }
        }
        try c.tick()
        #expect(c.host(n1).counters.snapshotsTaken == 1)
        let stored = try #require(try c.member(n1).store?.snapshots.load(group: 0))
        #expect(stored.data.count > Frame16MiB, "the image is larger than a frame")
        c.crash(n1)
        try c.start(n1)
        let machine = try #require(c.host(n1).machine(of: ShardID(0)))
        #expect(machine.values.count == 17)
        #expect(machine.values.values.allSatisfy { $0.count == ShardCommand.maxValueBytes })
        // A new replica gets the whole state through frames of the usual 16 MiB limit.
        c.maxFrameBytes = Frame16MiB
        try c.add(n2)
        try c.setTargets([ShardID(0): [n1, n2]])
        #expect(try c.run(maxTicks: 200) { c.isPlaced(ShardID(0), voters: [n1, n2]) })
        #expect(c.framesRefused == 0)
        #expect(c.host(n2).counters.snapshotsInstalled == 1)
        let copied = c.host(n2).machine(of: ShardID(0)) == c.host(n1).machine(of: ShardID(0))
        #expect(copied)
    }

    @Test func installedSnapshotThatCannotBeRead_stopsTheNode_andItsRestartNamesTheShard() throws {
        let fs = MemoryFileSystem()
        let store = try ShardStore(directory: "/data", fileSystem: fs)
        var host = try ShardHost<ShardState>(id: n1, seed: 3, epoch: 5)
        var batch = ShardBatch(from: n2, to: n1, epoch: 5)
        let image = Snapshot(metadata: SnapshotMetadata(index: LogIndex(9), term: Term(2), configuration: Configuration(voters: [n1, n2, n3])),
                             data: [9, 9, 9])
        batch.append(Message(from: n2, to: n1, term: Term(2), body: .installSnapshot(image)), shard: ShardID(4))
        host.receive(batch)
        #expect(throws: ShardStorageFailure(shard: ShardID(4), index: LogIndex(9), reason: "invalid shard image version: 9 unsupported")) {
            _ = try store.drive(&host) { _ in }
        }
        #expect(host.failure?.shard == ShardID(4))
        let restarted = try ShardStore(directory: "/data", fileSystem: fs)
        #expect(throws: ShardStorageFailure.self) {
            _ = try ShardHost<ShardState>(id: n1, seed: 4, epoch: try restarted.loadEpoch(), restoring: try restarted.loadGroups())
        }
    }
}

private let Frame16MiB = 16 << 20
