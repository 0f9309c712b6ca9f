import ChorusQueue
import ChorusWire

/// The queue service's share of one shard's replicated state: the queue catalogue (used only
/// on the shard the node designates for it; empty elsewhere) and the partitions the ring
/// places on this shard, each applying its entries in this shard's log order.
///
/// Invariants: deterministic (the image writes partitions in `PartitionID` order, each in its
/// canonical snapshot with bodies inline); a partition holds one incarnation of its queue —
/// an entry of a newer incarnation replaces a left-over partition of a deleted queue, an entry
/// of an older one is answered `.invalid` and changes nothing; every reply is
/// `QueueCodec.encode` of a `QueueReply` or `CatalogueReply`.
public struct ShardQueues: Sendable, Equatable {
    public typealias Partition = QueuePartition<MemoryBodyStore>

    public private(set) var catalogue = QueueCatalogue()
    public private(set) var partitions: [PartitionID: Partition] = [:]

    public init() {}

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
            let existing = partitions.removeValue(forKey: id)
            if let existing, existing.incarnation == incarnation {
                p = existing
            } else {
                do { p = try Partition(partition: id, incarnation: incarnation, settings: settings, bodies: MemoryBodyStore()) } catch {
                    partitions[id] = existing
                    return QueueCodec.encode(QueueReply.invalid("\(error)"))
                }
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
            return QueueCodec.encode(QueueReply.count(existing.stats.messages))
        }
    }

    func encode(into w: inout ByteWriter) {
        w.blob(CatalogueCodec.snapshot(catalogue))
        w.varint(UInt64(partitions.count))
        for id in partitions.keys.sorted() {
            guard let p = partitions[id] else { continue }
            w.blob(p.snapshot())
        }
    }

    init(decoding r: inout ByteReader) throws(WireError) {
        catalogue = try CatalogueCodec.catalogue(snapshot: try r.blob("queue catalogue", limit: r.remaining))
        let count = try r.count("queue partitions", limit: r.remaining / 8)
        var previous: PartitionID?
        for _ in 0..<count {
            let p = try Partition(snapshot: try r.blob("queue partition", limit: r.remaining), bodies: MemoryBodyStore())
            if let previous, !(previous < p.partition) {
                throw .invalid(field: "queue partitions", reason: "not in order at \(p.partition)")
            }
            previous = p.partition
            partitions[p.partition] = p
        }
    }

    public static func == (a: ShardQueues, b: ShardQueues) -> Bool {
        guard a.catalogue == b.catalogue, a.partitions.count == b.partitions.count else { return false }
        return a.partitions.allSatisfy { id, p in b.partitions[id].map { $0.snapshot() == p.snapshot() } ?? false }
    }
}
