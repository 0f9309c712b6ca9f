import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Foundation
import Testing

/// Snapshots larger than a message frame on disk, and snapshots that cannot be read back.
@Suite struct LargeSnapshotTests {
    @Test func stateLargerThanAFrame_isSnapshotted_restartsFromDisk_andIsCopiedToANewReplica() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 17
        settings.snapshotEveryBytes = 64 << 20 // one snapshot of all 17 MiB, by the entry count
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

    @Test func stateOf20MiB_onARealDisk_restartsFromChunkedFiles_andIsCopiedToANewReplicaInFrames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-shards-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values = 20
        var settings = ShardHostSettings()
        settings.snapshotEvery = values
        settings.snapshotEveryBytes = 64 << 20 // one snapshot of all 20 MiB, by the entry count
        let c = try ShardTestCluster(nodes: 0, settings: settings)
        try c.add(n1, directory: dir)
        try c.bootstrap(on: n1, shards: 1)
        try #require(try c.run(maxTicks: 40) { c.host(n1).isLeader(of: ShardID(0)) })
        let value = String(repeating: "y", count: ShardCommand.maxValueBytes)
        for i in 0..<values {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i)", value), token: UInt64(i + 1)) }
        }
        try c.tick()
        #expect(c.host(n1).counters.snapshotsTaken == 1)
        let file = dir + "/snap/group-00000000000000000000.snap"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(size > 20 << 20, "the snapshot file holds the whole state")
        c.crash(n1)
        try c.start(n1)
        let machine = try #require(c.host(n1).machine(of: ShardID(0)))
        #expect(machine.values.count == values)
        c.maxFrameBytes = Frame16MiB
        try c.add(n2)
        try c.setTargets([ShardID(0): [n1, n2]])
        #expect(try c.run(maxTicks: 400) { c.isPlaced(ShardID(0), voters: [n1, n2]) })
        #expect(c.framesRefused == 0)
        #expect(c.host(n2).counters.snapshotsInstalled == 1)
        #expect(c.host(n1).counters.snapshotChunksSent >= 20, "the image went in chunks")
        let copied = c.host(n2).machine(of: ShardID(0)) == c.host(n1).machine(of: ShardID(0))
        #expect(copied)
    }

    @Test func storedSnapshotThatCannotBeRead_stopsTheRestart_withAShardStorageFailureNamingTheShard() throws {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 3
        let c = try ShardTestCluster(nodes: 1, settings: settings)
        try c.bootstrap(on: n1, shards: 1)
        try #require(try c.run(maxTicks: 40) { c.host(n1).isLeader(of: ShardID(0)) })
        for i in 0..<3 {
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("r\(i)"), command: put("k\(i)", "v"), token: UInt64(i + 1)) }
        }
        try c.tick()
        #expect(c.host(n1).counters.snapshotsTaken == 1)
        let stored = try #require(try c.member(n1).store?.snapshots.load(group: 0))
        let index = LogIndex(stored.index)
        c.crash(n1)
        let fs = c.member(n1).fileSystem
        let path = "/data/snap/group-00000000000000000000.snap"
        var damaged = try #require(fs.contents(of: path))
        damaged[damaged.count - 10] ^= 0x01
        fs.setContents(of: path, to: damaged)
        #expect { try c.start(n1) } throws: { error in
            guard let failure = error as? ShardStorageFailure else { return false }
            return failure.shard == ShardID(0) && failure.index == index
                && failure.description.contains("group-00000000000000000000.snap") && failure.description.contains("checksum mismatch")
        }
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
