import ChorusBase
import ChorusLocks
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusWire
import Testing
@testable import ChorusShards

/// The queue service inside the shard state: catalogue and partition entries, incarnations,
/// the version-2 image (and reading version 1), and total decoders.
@Suite struct ShardQueuesTests {
    let orders = try! QueueName("orders")

    func settings(partitions: Int = 4) -> QueueSettings {
        var s = QueueSettings(); s.partitions = partitions; return s
    }

    func partitionCommand(_ index: UInt16, incarnation: UInt64, _ command: QueueCommand, now: UInt64 = 1_000) -> [UInt8] {
        ShardCommand.queue(.partition(PartitionID(queue: orders, index: index), incarnation: incarnation, settings: settings(),
                                      entry: QueueEntry(nowMillis: now, command: command))).encoded()
    }

    @Test func catalogueAndPartitionEntriesApply_andTheImageRoundTrips() throws {
        var s = ShardState(shard: ShardID(3))
        let created = s.apply(ShardCommand.queue(.catalogue(CatalogueEntry(nowMillis: 5, command: .create(orders, settings())))).encoded(), at: LogIndex(1))
        guard case .created(let info) = try QueueCodec.decodeCatalogueReply(created) else { Issue.record("not created"); return }
        #expect(info.incarnation == 1)
        let published = s.apply(partitionCommand(2, incarnation: 1, .publish([OutgoingMessage(body: [1, 2, 3])])), at: LogIndex(2))
        #expect(try QueueCodec.decodeReply(published) == .published([.stored(offset: 1)]))
        let fetched = try QueueCodec.decodeReply(s.apply(partitionCommand(2, incarnation: 1, .fetch(consumer: try ConsumerID("c"), maxMessages: 10, maxBytes: 0, visibilityMillis: 0)), at: LogIndex(3)))
        guard case .delivered(let d) = fetched else { Issue.record("not delivered"); return }
        #expect(d.map(\.body) == [[1, 2, 3]])
        let restored = try ShardState(shard: ShardID(3), image: s.image())
        #expect(restored == s)
        #expect(restored.image() == s.image())
        #expect(restored.queues.partitions[PartitionID(queue: orders, index: 2)]?.stats.leased == 1)
    }

    @Test func anOlderIncarnationIsRefused_aNewerOneReplacesTheLeftOver() throws {
        var s = ShardState(shard: ShardID(0))
        _ = s.apply(partitionCommand(0, incarnation: 5, .publish([OutgoingMessage(body: [9])])), at: LogIndex(10))
        let stale = try QueueCodec.decodeReply(s.apply(partitionCommand(0, incarnation: 4, .publish([OutgoingMessage(body: [8])])), at: LogIndex(11)))
        guard case .invalid = stale else { Issue.record("stale incarnation accepted: \(stale)"); return }
        let fresh = try QueueCodec.decodeReply(s.apply(partitionCommand(0, incarnation: 12, .publish([OutgoingMessage(body: [7])])), at: LogIndex(12)))
        #expect(fresh == .published([.stored(offset: 1)]), "a new queue of the same name starts at offset 1")
        let dropped = try QueueCodec.decodeReply(s.apply(ShardCommand.queue(.dropPartition(PartitionID(queue: orders, index: 0), incarnation: 12)).encoded(), at: LogIndex(13)))
        #expect(dropped == .count(1))
        #expect(s.queues.partitions.isEmpty)
    }

    @Test func aVersionOneImageIsStillRead() throws {
        var s = ShardState(shard: ShardID(1))
        _ = s.apply(ShardCommand.put(key: [1], value: [2]).encoded(), at: LogIndex(1))
        var v1 = s.image()
        // A version-1 image is the current one without the queue section (empty catalogue
        // snapshot and a zero partition count) and the cache section (today's empty one: a
        // zero record count and a zero version floor).
        let queueSection = { var w = ByteWriter(); ShardQueues().encode(into: &w); return w.bytes }()
        let cacheSection = { var w = ByteWriter(); ShardCacheValues().encode(into: &w); return w.bytes }()
        v1.removeLast(queueSection.count + cacheSection.count)
        v1[0] = 1
        let restored = try ShardState(shard: ShardID(1), image: v1)
        #expect(restored.values[[1]] == [2])
        #expect(restored.queues.partitions.isEmpty)
    }

    @Test func mutatedCommandsAndImagesNeverTrap() throws {
        var rng = SeededRandom(seed: 12)
        var s = ShardState(shard: ShardID(0))
        _ = s.apply(ShardCommand.queue(.catalogue(CatalogueEntry(nowMillis: 5, command: .create(orders, settings())))).encoded(), at: LogIndex(1))
        _ = s.apply(partitionCommand(1, incarnation: 1, .publish([OutgoingMessage(body: [1, 2], key: try MessageKey("k"))])), at: LogIndex(2))
        let samples = [partitionCommand(1, incarnation: 1, .ack([LeaseReceipt(offset: 1, delivery: 1)])), s.image()]
        var index: UInt64 = 3
        for i in 0..<4_000 {
            var bytes = samples[i % 2]
            for _ in 0...rng.below(3) where !bytes.isEmpty { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if i % 2 == 0 {
                _ = s.apply(bytes, at: LogIndex(index)); index += 1
            } else if let restored = try? ShardState(shard: ShardID(0), image: bytes) {
                #expect(try ShardState(shard: ShardID(0), image: restored.image()) == restored)
            }
        }
    }
}
