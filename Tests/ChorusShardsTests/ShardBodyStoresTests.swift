import ChorusBase
import Foundation
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusStorage
import ChorusWire
import Testing
@testable import ChorusShards

/// Queue bodies on disk inside the shard state: each partition replica's body log under
/// `<root>/<shard>/<queue>-<index>-<incarnation>`, an `.external` image that restores from the
/// recovered body log after a crash (and keeps only the bodies the image names), body logs
/// deleted with their partition, and a store that cannot be opened stopping the node.
@Suite struct ShardBodyStoresTests {
    static let root = "/data/shards/bodies"
    let orders = try! QueueName("orders")
    let shard = ShardID(2)

    func settings() -> QueueSettings { var s = QueueSettings(); s.partitions = 2; return s }

    func stores(_ fs: any FileSystem) -> ShardBodyStores {
        .disk(root: Self.root, fileSystem: fs, settings: BodyLogSettings(segmentBytes: 16 << 10, writeBufferBytes: 1 << 10))
    }

    func command(_ command: QueueCommand, incarnation: UInt64 = 1, now: UInt64 = 1_000) -> [UInt8] {
        ShardCommand.queue(.partition(PartitionID(queue: orders, index: 1), incarnation: incarnation, settings: settings(),
                                      entry: QueueEntry(nowMillis: now, command: command))).encoded()
    }

    static func body(_ i: Int) -> [UInt8] { (0..<300).map { UInt8(truncatingIfNeeded: i &* 7 &+ $0) } }

    func segments(_ fs: MemoryFileSystem, incarnation: UInt64 = 1) -> [String] {
        ((try? fs.listDirectory(at: "\(Self.root)/2/orders-1-\(incarnation)")) ?? []).filter { $0.hasSuffix(".seg") }
    }

    /// Publishes `count` bodies, fetches `acked` of them and acks those; returns the next index.
    func publishAndAck(_ s: inout ShardState, from first: Int, count: Int, acked: Int, at index: UInt64) throws -> UInt64 {
        var index = index
        for i in first..<(first + count) {
            _ = s.apply(command(.publish([OutgoingMessage(body: Self.body(i))])), at: LogIndex(index)); index += 1
        }
        guard acked > 0 else { return index }
        let fetched = try QueueCodec.decodeReply(s.apply(command(.fetch(consumer: try ConsumerID("c"), maxMessages: acked, maxBytes: 0, visibilityMillis: 60_000)), at: LogIndex(index)))
        index += 1
        guard case let .delivered(d) = fetched else { Issue.record("not delivered: \(fetched)"); return index }
        _ = s.apply(command(.ack(d.map(\.receipt))), at: LogIndex(index))
        return index + 1
    }

    @Test func anExternalImageRestoresFromTheRecoveredBodyLogAfterACrash() throws {
        let fs = MemoryFileSystem()
        var s = ShardState(shard: shard, bodyStores: stores(fs))
        var index = try publishAndAck(&s, from: 0, count: 200, acked: 150, at: 1)
        #expect(!segments(fs).isEmpty, "the bodies are in the partition's own directory")
        let checkpoint = try s.queues.checkpointBodies()
        #expect(checkpoint.parts.count == 1 && !checkpoint.parts[0].checkpoint.deadSegments.isEmpty,
                "150 of 200 acked: sealed segments are dead")
        let external = s.image(bodies: .external)
        let inline = s.image()
        #expect(external.count + 40 * 300 < inline.count, "50 live bodies of 300 bytes are not in the external image")
        let before = segments(fs).count
        try s.release(checkpoint)
        #expect(segments(fs).count < before, "release deletes the dead segments")
        let appliedThrough = index
        // After the checkpoint: 30 more published, 40 of the live ones acked (their bodies
        // removed), then kill -9 — nothing of that was fsynced.
        index = try publishAndAck(&s, from: 200, count: 30, acked: 40, at: index)
        fs.crash()

        var restored = try ShardState(shard: shard, image: external, bodyStores: stores(fs))
        #expect(restored.image() == inline, "the image and the recovered body log give back the state at the snapshot")
        let p = try #require(restored.queues.partitions[PartitionID(queue: orders, index: 1)])
        #expect(p.bodies.disk?.statistics.liveBodies == 50, "bodies not named by the image were dropped")
        // Replaying the Raft log after the snapshot gives the state the crashed replica had.
        let replayed = try publishAndAck(&restored, from: 200, count: 30, acked: 40, at: appliedThrough)
        #expect(replayed == index)
        #expect(restored.image() == s.image())
        #expect(restored.queues.partitions[PartitionID(queue: orders, index: 1)]?.stats.messages == 40)
        #expect(restored.queues.bodyStoreFailure == nil)
    }

    @Test func anExternalImageWithoutItsBodyLogIsRefused() throws {
        let fs = MemoryFileSystem()
        var s = ShardState(shard: shard, bodyStores: stores(fs))
        _ = try publishAndAck(&s, from: 0, count: 20, acked: 0, at: 1)
        _ = try s.queues.checkpointBodies()
        let external = s.image(bodies: .external)
        #expect(throws: (any Error).self) { try ShardState(shard: shard, image: external, bodyStores: stores(MemoryFileSystem())) }
        #expect(throws: (any Error).self) { try ShardState(shard: shard, image: external) }
        // The inline image is self-contained: it restores anywhere, into memory or onto a new disk.
        let inline = s.image()
        #expect(try ShardState(shard: shard, image: inline).image() == inline)
        let otherDisk = MemoryFileSystem()
        let onDisk = try ShardState(shard: shard, image: inline, bodyStores: stores(otherDisk))
        #expect(onDisk.image() == inline && !segments(otherDisk).isEmpty)
    }

    /// The body log of a dropped or replaced partition stays until a snapshot taken after the
    /// drop is durable (the one before still names its bodies), then goes.
    @Test func aDroppedOrReplacedPartitionTakesItsBodyLogAlong_onceASnapshotAfterTheDropIsDurable() throws {
        let fs = MemoryFileSystem()
        var s = ShardState(shard: shard, bodyStores: stores(fs))
        var index = try publishAndAck(&s, from: 0, count: 100, acked: 0, at: 1)
        #expect(!segments(fs, incarnation: 1).isEmpty)
        _ = s.apply(command(.publish([OutgoingMessage(body: [1])]), incarnation: 7), at: LogIndex(index)); index += 1
        #expect(!segments(fs, incarnation: 1).isEmpty, "kept until a snapshot without the old incarnation is durable")
        #expect(!segments(fs, incarnation: 7).isEmpty)
        let replaced = try #require(try s.localImage().checkpoint)
        try s.release(replaced)
        #expect(segments(fs, incarnation: 1).isEmpty, "a newer incarnation replaced the partition and its bodies")
        let dropped = s.apply(ShardCommand.queue(.dropPartition(PartitionID(queue: orders, index: 1), incarnation: 7)).encoded(), at: LogIndex(index))
        #expect(try QueueCodec.decodeReply(dropped) == .count(1))
        #expect(!segments(fs, incarnation: 7).isEmpty)
        try s.release(try #require(try s.localImage().checkpoint))
        #expect(segments(fs, incarnation: 7).isEmpty)
        #expect(s.queues.bodyStoreFailure == nil)
    }

    /// A crash after a drop and before the next snapshot: the node restores the snapshot from
    /// before the drop, which names the dropped partition's bodies — they must still be there.
    @Test func aCrashAfterADropRestoresTheSnapshotBeforeIt_fromBodiesStillOnDisk() throws {
        let fs = MemoryFileSystem()
        var s = ShardState(shard: shard, bodyStores: stores(fs))
        let index = try publishAndAck(&s, from: 0, count: 50, acked: 10, at: 1)
        let local = try s.localImage()
        try s.release(try #require(local.checkpoint))
        _ = s.apply(ShardCommand.queue(.dropPartition(PartitionID(queue: orders, index: 1), incarnation: 1)).encoded(), at: LogIndex(index))
        #expect(s.queues.partitions.isEmpty)
        fs.crash()
        var restored = try ShardState(shard: shard, image: local.image, bodyStores: stores(fs))
        #expect(restored.queues.partitions.first?.value.stats.messages == 40)
        _ = restored.apply(ShardCommand.queue(.dropPartition(PartitionID(queue: orders, index: 1), incarnation: 1)).encoded(), at: LogIndex(index))
        try restored.release(try #require(try restored.localImage().checkpoint))
        #expect(segments(fs).isEmpty)
    }

    @Test func aBodyLogThatCannotBeOpenedIsTheNodesFailure() throws {
        var s = ShardState(shard: shard, bodyStores: stores(RefusingFileSystem()))
        let reply = try QueueCodec.decodeReply(s.apply(command(.publish([OutgoingMessage(body: [1])])), at: LogIndex(1)))
        #expect(reply == .published([.stored(offset: 1)]), "the reply is the replicated one; the node stops before sending it")
        #expect(s.queues.bodyStoreFailure != nil)
        #expect(throws: StorageError.self) { try s.queues.checkpointBodies() }
    }
}

extension ShardBodyStoresTests {
    /// `PosixFileSystem` creates no parent directories (`MemoryFileSystem` does): the store
    /// must create `<root>` and `<root>/<shard>` itself. The first agent run failed exactly so.
    @Test func onARealDiskTheRootAndShardDirectoriesAreCreated() throws {
        let base = "/tmp/chorus-bodystores-\(UInt32.random(in: .min ... .max))"
        let fs = PosixFileSystem()
        _ = try fs.createDirectory(at: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let stores = ShardBodyStores.disk(root: base + "/bodies", fileSystem: fs)
        var s = ShardState(shard: shard, bodyStores: stores)
        _ = s.apply(command(.publish([OutgoingMessage(body: Self.body(1))])), at: LogIndex(1))
        #expect(s.queues.bodyStoreFailure == nil)
        _ = try s.queues.checkpointBodies()
        let names = try fs.listDirectory(at: base + "/bodies/2/orders-1-1")
        #expect(names.contains { $0.hasSuffix(".seg") })
        let inline = s.image(), external = s.image(bodies: .external)
        s.queues.closeBodies() // as at a restart: the restored state reopens the directory
        let restored = try ShardState(shard: shard, image: external, bodyStores: stores)
        #expect(restored.image() == inline)
        restored.queues.closeBodies()
    }
}

extension ShardBodyStoresTests {
    /// Host settings of the cluster tests: local snapshots every 5 entries (external images),
    /// and snapshot chunks far smaller than the bodies, so that holding them all would show.
    static var clusterSettings: ShardHostSettings {
        var s = ShardHostSettings()
        s.snapshotEvery = 5
        s.snapshotChunkBytes = 2 << 10
        s.snapshotWindowBytes = 8 << 10
        return s
    }

    /// Hosts n1, n2, n3 (and `more`) with bodies on disk, shard 0 placed on n1...n3, and
    /// `messages` bodies published to partition 0 of `orders` through n1.
    func clusterWithABacklog(seed: UInt64, messages: Int, more: [NodeID] = []) throws -> ShardTestCluster {
        let c = try ShardTestCluster(nodes: 0, settings: Self.clusterSettings, seed: seed)
        c.bodiesOnDisk = true
        for n in [n1, n2, n3] + more { try c.add(n) }
        try c.bootstrap(on: n1, shards: 1)
        let shard0 = ShardID(0)
        try c.setTargets([shard0: [n1, n2, n3]])
        try #require(try c.run(maxTicks: 300) { c.isPlaced(shard0, voters: [n1, n2, n3]) })
        for i in 0..<messages {
            let cmd = ShardCommand.queue(.partition(PartitionID(queue: orders, index: 0), incarnation: 1, settings: settings(),
                                                    entry: QueueEntry(nowMillis: 1_000, command: .publish([OutgoingMessage(body: Self.body(i))])))).encoded()
            _ = try c.withHost(n1) { try $0.propose(shard: shard0, requestID: bytes("p\(i)"), command: cmd, token: UInt64(i + 1)) }
            if i % 4 == 3 { try c.tick() }
        }
        try c.tick(3)
        return c
    }
}

extension ShardBodyStoresTests {
    /// Three hosts with bodies on disk, local snapshots every 5 entries (external images); a
    /// fourth member joins behind the log start and must get a streamed snapshot — the records
    /// image, then the bodies read from the leader's body log, written into the member's own —
    /// never an image naming the leader's files, nor one with every body inline in memory
    /// (on either side: the high-water marks stay below the bodies' bytes). Then every replica
    /// is crashed (unsynced writes lost) and restarted from its external snapshot, body log and
    /// Raft log, and the state is the same everywhere.
    @Test func aJoiningMemberGetsAStreamedSnapshot_andEveryReplicaRestartsFromItsBodyLog() throws {
        let hostSettings = Self.clusterSettings
        let c = try clusterWithABacklog(seed: 5, messages: 60)
        let shard0 = ShardID(0)
        try #require(c.host(n1).counters.snapshotsTaken >= 5)
        let leaderState = try #require(c.host(n1).machine(of: shard0))
        #expect(leaderState.queues.partitions.first?.value.stats.messages == 60)
        #expect(leaderState.image(bodies: .external).count + 50 * 300 < leaderState.image().count, "the local snapshots name the bodies")

        try c.add(n4)
        try c.setTargets([shard0: [n1, n2, n3, n4]])
        #expect(try c.run(maxTicks: 400) { c.isPlaced(shard0, voters: [n1, n2, n3, n4]) })
        #expect(c.host(n4).counters.snapshotsInstalled == 1)
        #expect(c.host(n4).machine(of: shard0) == c.host(n1).machine(of: shard0))
        let bodyBytes = 60 * 300
        #expect(c.host(n1).counters.snapshotsStreamed == 1, "the member got the bodies streamed from the body log")
        #expect(c.host(n1).counters.snapshotBytesHeldSending > 0)
        #expect(c.host(n1).counters.snapshotBytesHeldSending < bodyBytes / 4, "the leader built no image with the bodies inline")
        #expect(c.host(n4).counters.snapshotBytesHeldReceiving > 0)
        #expect(c.host(n4).counters.snapshotBytesHeldReceiving <= c.host(n1).counters.snapshotBytesHeldSending + hostSettings.snapshotChunkBytes,
                "the member held the records image and one chunk, not the bodies")
        #expect(c.host(n4).counters.snapshotBytesHeldReceiving < bodyBytes / 2)
        let joined = try #require(c.host(n4).machine(of: shard0)?.queues.partitions.first?.value.bodies.disk)
        #expect(joined.statistics.liveBodies == 60, "the member's bodies are in its own body log")
        #expect(c.host(n4).failure == nil && c.host(n1).failure == nil)

        for n in [n1, n2, n3, n4] { c.crash(n) }
        for n in [n1, n2, n3, n4] { try c.start(n) }
        #expect(try c.run(maxTicks: 400) { c.leader(of: shard0) != nil })
        try c.tick(5)
        let after = try #require(c.host(n1).machine(of: shard0))
        #expect(after.queues.partitions.first?.value.stats.messages == 60)
        for n in [n2, n3, n4] { #expect(c.host(n).machine(of: shard0) == after, "replica \(n)") }
        #expect([n1, n2, n3, n4].allSatisfy { c.host($0).failure == nil })
    }
}

/// A file system on which every call fails (a lost disk).
struct RefusingFileSystem: FileSystem {
    func createDirectory(at path: String) throws(StorageError) -> Bool { throw .io(operation: "mkdir", path: path, errno: 5) }
    func listDirectory(at path: String) throws(StorageError) -> [String] { throw .io(operation: "opendir", path: path, errno: 5) }
    func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile { throw .io(operation: "open", path: path, errno: 5) }
    func removeFile(at path: String) throws(StorageError) { throw .io(operation: "unlink", path: path, errno: 5) }
    func renameFile(at path: String, to newPath: String) throws(StorageError) { throw .io(operation: "rename", path: path, errno: 5) }
    func syncDirectory(at path: String) throws(StorageError) { throw .io(operation: "fsync", path: path, errno: 5) }
}

extension ShardBodyStoresTests {
    /// A replica moved off a node takes its body logs along, once its drop is durable: the
    /// leaver's directories keep no segment, the new member holds the bodies in its own.
    @Test func aReplicaMovedOffANode_leavesNoBodySegmentsBehind() throws {
        let c = try clusterWithABacklog(seed: 9, messages: 20, more: [n4])
        let shard0 = ShardID(0)
        let directory = "/data/bodies/0/orders-0-1"
        func segments(of n: NodeID) -> Int { ((try? c.member(n).fileSystem.listDirectory(at: directory)) ?? []).filter { $0.hasSuffix(".seg") }.count }
        #expect(segments(of: n3) > 0)
        try c.setTargets([shard0: [n1, n2, n4]])
        #expect(try c.run(maxTicks: 600) { c.isPlaced(shard0, voters: [n1, n2, n4]) && c.host(n3).machine(of: shard0) == nil })
        try c.tick(5)
        #expect(segments(of: n3) == 0, "the leaver's body log is gone")
        #expect(segments(of: n4) > 0)
        #expect(c.host(n4).machine(of: shard0) == c.host(n1).machine(of: shard0))
        #expect([n1, n2, n3, n4].allSatisfy { c.host($0).failure == nil })
    }
}

extension ShardBodyStoresTests {
    /// A member that keeps bodies in memory joins a group whose leader keeps them on disk: the
    /// stream's bodies are staged in memory and the member installs the inline image they
    /// make, equal to the leader's state.
    @Test func aMemberWithBodiesInMemory_installsAStreamedSnapshotAsAnInlineImage() throws {
        let c = try clusterWithABacklog(seed: 11, messages: 30)
        let shard0 = ShardID(0)
        c.bodiesOnDisk = false
        try c.add(n4)
        try c.setTargets([shard0: [n1, n2, n3, n4]])
        #expect(try c.run(maxTicks: 400) { c.isPlaced(shard0, voters: [n1, n2, n3, n4]) })
        #expect(c.host(n1).counters.snapshotsStreamed >= 1)
        #expect(c.host(n4).counters.snapshotsInstalled == 1)
        let joined = try #require(c.host(n4).machine(of: shard0))
        #expect(joined == c.host(n1).machine(of: shard0))
        #expect(joined.queues.partitions.first?.value.bodies.disk == nil, "the member's bodies are in memory")
        #expect(c.host(n4).stagedBodies.isEmpty)
        #expect([n1, n4].allSatisfy { c.host($0).failure == nil })
    }
}
