import ChorusQueue
import ChorusRing
import ChorusStorage
import ChorusWire

/// The queue service's share of one shard's replicated state: the queue catalogue (used only
/// on the shard the node designates for it; empty elsewhere) and the partitions the ring
/// places on this shard, each applying its entries in this shard's log order.
///
/// Invariants: deterministic (the image writes partitions in `PartitionID` order, each in its
/// canonical snapshot with bodies inline); a partition holds one incarnation of its queue —
/// an entry of a newer incarnation replaces a left-over partition of a deleted queue, an entry
/// of an older one is answered `.invalid` and changes nothing; every reply is
/// `QueueCodec.encode` of a `QueueReply` or `CatalogueReply`. Each partition's bodies are in
/// the store `stores` opens for it (memory, or its own body log on disk); a partition that is
/// dropped or replaced by a newer incarnation has its body log deleted. A body store that
/// fails (cannot be opened, a write or fsync failed) is `bodyStoreFailure`: the driver must
/// stop the node before it acknowledges anything applied since (fail-stop, as for the Raft log).
public struct ShardQueues: Sendable, Equatable {
    public typealias Partition = QueuePartition<PartitionBodies>

    public private(set) var catalogue = QueueCatalogue()
    public private(set) var partitions: [PartitionID: Partition] = [:]
    public let shard: ShardID
    public let stores: ShardBodyStores
    /// The first body store that could not be opened or deleted.
    var storeFailure: StorageError?
    /// Body logs of partitions dropped or replaced, closed but not yet deleted: the last local
    /// snapshot may still name their bodies (a node that crashes now restores it and replays
    /// the drop). `checkpointBodies` lists them; `releaseBodies` deletes them once the snapshot
    /// taken with that checkpoint is durable. Not part of the replicated state.
    var droppedBodies: [String] = []
    /// Body logs a streamed snapshot writes into for partitions this state does not hold
    /// (yet): a partition created here later takes its log over, so one directory is never
    /// open twice. Not part of the replicated state.
    var incoming: [IncomingKey: PartitionBodies] = [:]

    struct IncomingKey: Hashable, Comparable {
        var partition: PartitionID
        var incarnation: UInt64
        static func < (a: Self, b: Self) -> Bool { (a.partition, a.incarnation) < (b.partition, b.incarnation) }
    }

    public init() { self.init(shard: ShardID(0), stores: .memory) }

    public init(shard: ShardID, stores: ShardBodyStores) {
        self.shard = shard
        self.stores = stores
    }

    /// The first failure of a body store: set, the node must stop (what is on disk is unknown).
    public var bodyStoreFailure: StorageError? {
        if let storeFailure { return storeFailure }
        guard stores.isOnDisk else { return nil }
        for id in partitions.keys.sorted() {
            if let failure = partitions[id]?.bodies.disk?.failure { return failure }
        }
        for key in incoming.keys.sorted() {
            if let failure = incoming[key]?.disk?.failure, failure != .closed { return failure }
        }
        return nil
    }

    /// A partition of a dropped incarnation opened again (a late publish after its drop
    /// created it anew): its old body log is deleted first, since the old bodies would pass
    /// for the new partition's, whose offsets start at 1 again.
    mutating func reclaimDropped(_ id: PartitionID, incarnation: UInt64) {
        guard let directory = stores.directory(shard: shard, partition: id, incarnation: incarnation),
              let i = droppedBodies.firstIndex(of: directory) else { return }
        droppedBodies.remove(at: i)
        do { try stores.destroy(directory: directory) } catch {
            if storeFailure == nil { storeFailure = error }
        }
    }

    /// The body log a streamed snapshot's bodies of `id` go into (nil in memory).
    mutating func incomingBodies(_ id: PartitionID, incarnation: UInt64) throws(StorageError) -> SegmentBodyStore? {
        guard stores.isOnDisk else { return nil }
        if let p = partitions[id], p.incarnation == incarnation, let disk = p.bodies.disk { return disk }
        let key = IncomingKey(partition: id, incarnation: incarnation)
        if let open = incoming[key]?.disk, open.failure == nil { return open }
        reclaimDropped(id, incarnation: incarnation)
        let bodies = try stores.open(shard: shard, partition: id, incarnation: incarnation)
        incoming[key] = bodies
        return bodies.disk
    }

    /// Per partition on disk, its body log and live offsets (the records image's order).
    func bodySources() -> [(partition: PartitionID, incarnation: UInt64, store: SegmentBodyStore, offsets: [UInt64])] {
        partitions.keys.sorted().compactMap { id in
            guard let p = partitions[id], let disk = p.bodies.disk else { return nil }
            return (id, p.incarnation, disk, p.liveOffsets)
        }
    }

    /// A new partition's store. One that cannot be opened is the node's failure; the
    /// partition then applies into memory until the driver stops the node.
    mutating func openBodies(_ id: PartitionID, incarnation: UInt64) -> PartitionBodies {
        if let taken = incoming.removeValue(forKey: IncomingKey(partition: id, incarnation: incarnation)), taken.disk?.failure == nil {
            return taken
        }
        reclaimDropped(id, incarnation: incarnation)
        do { return try stores.open(shard: shard, partition: id, incarnation: incarnation) } catch {
            if storeFailure == nil { storeFailure = error }
            return PartitionBodies()
        }
    }

    /// The partition is gone for good: its body log goes with it — closed now, deleted once a
    /// snapshot taken after this apply is durable (`droppedBodies`).
    mutating func destroyBodies(of p: Partition) {
        guard let disk = p.bodies.disk else { return }
        disk.close()
        droppedBodies.append(disk.directory)
    }

    mutating func apply(_ command: QueueShardCommand, at index: UInt64) -> [UInt8] {
        switch command {
        case let .catalogue(entry):
            guard index > catalogue.appliedIndex else { return QueueCodec.encode(CatalogueReply.invalid("entry below the applied index")) }
            return QueueCodec.encode(catalogue.apply(entry, index: index))
        case let .partition(id, incarnation, settings, entry):
            if let existing = partitions[id], existing.incarnation > incarnation {
                return QueueCodec.encode(QueueReply.invalid("queue \(id.queue) was deleted and created again"))
            }
            var p: Partition
            // Taken out of the map while it applies, so the partition's storage is mutated in
            // place: a copy left in the map would make every apply copy every message held.
            // `existing` is emptied once `p` holds the partition, for the same reason (a
            // binding still alive beside `p` made every publish copy the whole backlog).
            var existing = partitions.removeValue(forKey: id)
            if let same = existing, same.incarnation == incarnation {
                existing = nil
                p = same
            } else {
                do { try settings.validate() } catch {
                    partitions[id] = existing
                    return QueueCodec.encode(QueueReply.invalid("\(error)"))
                }
                guard Int(id.index) < settings.partitions else {
                    partitions[id] = existing
                    return QueueCodec.encode(QueueReply.invalid("partition \(id.index) is outside the queue's \(settings.partitions) partitions"))
                }
                do { p = try Partition(partition: id, incarnation: incarnation, settings: settings, bodies: openBodies(id, incarnation: incarnation)) } catch {
                    partitions[id] = existing
                    return QueueCodec.encode(QueueReply.invalid("\(error)"))
                }
                if let existing { destroyBodies(of: existing) }
            }
            guard index > p.appliedIndex else {
                partitions[id] = p
                return QueueCodec.encode(QueueReply.invalid("entry below the applied index"))
            }
            let reply = p.apply(entry, index: index)
            partitions[id] = p
            return QueueCodec.encode(reply)
        case let .dropPartition(id, incarnation):
            guard let existing = partitions[id], existing.incarnation <= incarnation else { return QueueCodec.encode(QueueReply.count(0)) }
            partitions[id] = nil
            destroyBodies(of: existing)
            return QueueCodec.encode(QueueReply.count(existing.stats.messages))
        }
    }

    /// `.external` writes the partitions whose bodies are on disk with body sizes only (the
    /// local snapshot, after `checkpointBodies()`); those in memory are always inline.
    func encode(into w: inout ByteWriter, bodies placement: SnapshotBodies = .inline) {
        w.blob(CatalogueCodec.snapshot(catalogue))
        w.varint(UInt64(partitions.count))
        for id in partitions.keys.sorted() {
            guard let p = partitions[id] else { continue }
            w.blob(p.snapshot(bodies: p.bodies.disk == nil ? .inline : placement))
        }
    }

    /// Restores the queue section. With disk stores each partition's body log is opened
    /// (recovered) before its image is read into it — an external image needs the bodies it
    /// names there — and then keeps only the bodies of the messages the image holds (the
    /// ones removed after the last checkpoint go). A store that cannot be opened throws.
    init(decoding r: inout ByteReader, shard: ShardID, stores: ShardBodyStores) throws {
        self.init(shard: shard, stores: stores)
        catalogue = try CatalogueCodec.catalogue(snapshot: try r.blob("queue catalogue", limit: r.remaining))
        let count = try r.count("queue partitions", limit: r.remaining / 8)
        var previous: PartitionID?
        for _ in 0..<count {
            let image = try r.blob("queue partition", limit: r.remaining)
            let (id, incarnation) = try Partition.snapshotIdentity(image)
            if let previous, !(previous < id) {
                throw WireError.invalid(field: "queue partitions", reason: "not in order at \(id)")
            }
            let bodies = try stores.open(shard: shard, partition: id, incarnation: incarnation)
            let p: Partition
            do { p = try Partition(snapshot: image, bodies: bodies) } catch {
                bodies.disk?.close()
                throw error
            }
            bodies.disk?.retain(only: p.holdsMessage)
            previous = id
            partitions[id] = p
        }
    }

    public static func == (a: ShardQueues, b: ShardQueues) -> Bool {
        guard a.catalogue == b.catalogue, a.partitions.count == b.partitions.count else { return false }
        return a.partitions.allSatisfy { id, p in b.partitions[id].map { $0.snapshot() == p.snapshot() } ?? false }
    }
}
