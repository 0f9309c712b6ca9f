import ChorusLocks
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusStorage
import ChorusWire

/// What each shard replicates: the lock table of its lock names and home sessions, the queue
/// partitions (and, on the designated shard, the queue catalogue) the ring places here, and a
/// key-value map, applied from `ShardCommand`s.
///
/// Invariants: deterministic (`image()` writes keys in sorted order and the lock table's own
/// deterministic image; nothing follows a dictionary order); an unreadable command changes
/// nothing and is answered with an error reply; `revision` is the log index of the last
/// change to the map; a lock command's reply is `LockCodec.encode(reply)` and the waiters it
/// settled are events (`LockNotification`s); a queue command's reply is `QueueCodec` bytes.
/// The image is version 5 (versions 1 to 4 are still read: 1 and 2 are from before the queue
/// and the cache, 3 from before cache expiries, 4 from before cache purges — no queues, no
/// cache values, no expiries, no version floor).
public struct ShardState: ReplicatedStateMachine, Equatable {
    public typealias Event = LockNotification

    public private(set) var values: [[UInt8]: [UInt8]] = [:]
    public private(set) var revision: UInt64 = 0
    public private(set) var locks: LockTable
    public private(set) var queues = ShardQueues()
    /// The cache's durable values of the keys this shard homes.
    public private(set) var cache = ShardCacheValues()
    var pendingEvents: [LockNotification] = []

    /// The reply to a command: a status byte, 0 = done, 1 = key was absent (delete),
    /// 2 = the command could not be read.
    public enum Reply: UInt8, Sendable {
        case done = 0, absent = 1, unreadable = 2
    }

    /// The state of `shard` before the first command, its queue bodies in memory.
    public init(shard: ShardID) { self.init(shard: shard, bodyStores: .memory) }

    /// The state of `shard`, its queue partitions' bodies where `bodyStores` puts them.
    public init(shard: ShardID, bodyStores: ShardBodyStores) {
        queues = ShardQueues(shard: shard, stores: bodyStores)
        // The default settings are valid by construction (checked by LockTableSettings' tests).
        do { locks = try LockTable(shard: UInt16(truncatingIfNeeded: shard.value)) } catch { preconditionFailure("\(error)") }
    }

    public init(shard: ShardID, image: [UInt8]) throws { try self.init(shard: shard, image: image, bodyStores: .memory) }

    /// Restores `image` (inline or external bodies) with the queue bodies in `bodyStores`:
    /// on disk, each partition's body log is recovered first and keeps only the bodies of
    /// the messages the image holds.
    public init(shard: ShardID, image: [UInt8], bodyStores: ShardBodyStores) throws {
        self.init(shard: shard, bodyStores: bodyStores)
        var r = ByteReader(image)
        let version = try r.u8()
        guard (1...5).contains(version) else { throw WireError.invalid(field: "shard state version", reason: "\(version)") }
        locks = try LockTable(decoding: try r.blob("lock table", limit: r.remaining))
        guard locks.shard == UInt16(truncatingIfNeeded: shard.value) else {
            throw WireError.invalid(field: "lock table", reason: "belongs to shard \(locks.shard), not \(shard)")
        }
        revision = try r.varint()
        let count = try r.count("keys", limit: r.remaining / 2)
        for _ in 0..<count {
            let key = try r.blob("key", limit: ShardCommand.maxKeyBytes)
            values[key] = try r.blob("value", limit: ShardCommand.maxValueBytes)
        }
        if version >= 2 { queues = try ShardQueues(decoding: &r, shard: shard, stores: bodyStores) }
        if version >= 3 { cache = try ShardCacheValues(decoding: &r, withExpiry: version >= 4, withFloor: version >= 5) }
        try r.expectEnd()
    }

    public mutating func apply(_ command: [UInt8], at index: LogIndex) -> [UInt8] {
        guard let c = try? ShardCommand(decoding: command) else { return [Reply.unreadable.rawValue] }
        switch c {
        case let .lock(command):
            let result = locks.apply(command, index: index.value)
            pendingEvents += result.notifications
            return LockCodec.encode(result.reply)
        case let .put(key, value):
            values[key] = value
            revision = index.value
            return [Reply.done.rawValue]
        case let .delete(key):
            guard values.removeValue(forKey: key) != nil else { return [Reply.absent.rawValue] }
            revision = index.value
            return [Reply.done.rawValue]
        case let .queue(command):
            return queues.apply(command, at: index.value)
        case let .cache(command):
            return cache.apply(command)
        }
    }

    /// A queued acquire's `.waiting` is provisional: the lock table updates its record of the
    /// request when the wait settles, and a retry must reach the table to learn the outcome.
    public static func isFinal(reply: [UInt8], to command: [UInt8]) -> Bool {
        guard (try? LockCodec.decodeReply(reply)) == .waiting, case .lock(.acquire)? = try? ShardCommand(decoding: command) else { return true }
        return false
    }

    public mutating func takeEvents() -> [LockNotification] {
        defer { pendingEvents.removeAll() }
        return pendingEvents
    }

    public func image() -> [UInt8] { image(bodies: .inline) }

    public var keepsLocalFiles: Bool { queues.stores.isOnDisk }

    /// The checkpoint of every body log, then the image naming their bodies (no apply between).
    public func localImage() throws(StorageError) -> (image: [UInt8], checkpoint: ShardBodyCheckpoint?) {
        guard keepsLocalFiles else { return (image(), nil) }
        let checkpoint = try queues.checkpointBodies()
        return (image(bodies: .external), checkpoint)
    }

    public mutating func release(_ checkpoint: ShardBodyCheckpoint) throws(StorageError) { try queues.releaseBodies(checkpoint) }

    public var storageFailure: StorageError? { queues.bodyStoreFailure }

    public func snapshotStream() -> (image: [UInt8], bodies: SnapshotBodyStream?)? {
        guard keepsLocalFiles else { return (image(), nil) }
        guard let bodies = SnapshotBodyStream(queues.bodySources()) else { return nil }
        let listed = bodies.manifest.parts.contains { !$0.bodies.isEmpty }
        return (image(bodies: .external), listed ? bodies : nil)
    }

    public mutating func incomingBodies(partition: PartitionID, incarnation: UInt64) throws(StorageError) -> SegmentBodyStore? {
        try queues.incomingBodies(partition, incarnation: incarnation)
    }

    public func closeFiles(discard: Bool) {
        if discard { queues.destroyAllBodies() } else { queues.closeBodies() }
    }

    /// The image with the bodies of the partitions on disk `.external` (sizes only: the local
    /// snapshot, taken right after `queues.checkpointBodies()`, and the records image of a
    /// streamed snapshot) or `.inline` (self-contained: what the digest and a node with
    /// bodies in memory use).
    public func image(bodies placement: SnapshotBodies) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + values.count * 32)
        w.u8(5)
        w.blob(locks.encode())
        w.varint(revision)
        w.varint(UInt64(values.count))
        for key in values.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            w.blob(key); w.blob(values[key] ?? [])
        }
        queues.encode(into: &w, bodies: placement)
        cache.encode(into: &w)
        return w.bytes
    }
}
