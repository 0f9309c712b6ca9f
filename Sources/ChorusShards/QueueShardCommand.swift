import ChorusQueue
import ChorusWire

/// A queue-service command as one shard applies it: an entry of the queue catalogue (on the
/// shard the node designates for it), an entry of one partition placed on this shard, or the
/// removal of a deleted queue's partition.
///
/// A partition entry carries the queue's incarnation and settings, so the shard creates the
/// partition the first time it sees one, with no separate step that could be lost, and tells
/// a partition of a deleted queue from one of a new queue of the same name.
///
/// Invariant: `decode(encode(c)) == c`; `decode` of anything else throws a `WireError`
/// (every field passes its type's validation, settings included).
public enum QueueShardCommand: Hashable, Sendable {
    case catalogue(CatalogueEntry)
    case partition(PartitionID, incarnation: UInt64, settings: QueueSettings, entry: QueueEntry)
    /// Forgets the partition if it belongs to this incarnation or an older one.
    case dropPartition(PartitionID, incarnation: UInt64)

    func encode(into w: inout ByteWriter) {
        switch self {
        case let .catalogue(entry):
            w.u8(1); w.raw(CatalogueCodec.encode(entry))
        case let .partition(id, incarnation, settings, entry):
            w.u8(2); Self.encode(id, into: &w); w.varint(incarnation)
            QueueCodec.encode(settings, into: &w)
            w.raw(QueueCodec.encode(entry))
        case let .dropPartition(id, incarnation):
            w.u8(3); Self.encode(id, into: &w); w.varint(incarnation)
        }
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> QueueShardCommand {
        let tag = try r.u8()
        switch tag {
        case 1:
            return .catalogue(try CatalogueCodec.decodeEntry(try r.raw(r.remaining)))
        case 2:
            let id = try partitionID(&r)
            let incarnation = try r.varint()
            let settings = try QueueCodec.settings(&r)
            do { try settings.validate() } catch { throw .invalid(field: "queue settings", reason: error.message) }
            guard Int(id.index) < settings.partitions else { throw .invalid(field: "partition", reason: "\(id.index) ≥ \(settings.partitions)") }
            return .partition(id, incarnation: incarnation, settings: settings, entry: try QueueCodec.decodeEntry(try r.raw(r.remaining)))
        case 3:
            let id = try partitionID(&r)
            return .dropPartition(id, incarnation: try r.varint())
        default:
            throw .invalid(field: "queue shard command", reason: "tag \(tag)")
        }
    }

    static func encode(_ id: PartitionID, into w: inout ByteWriter) {
        w.string(id.queue.text); w.u16(id.index)
    }

    static func partitionID(_ r: inout ByteReader) throws(WireError) -> PartitionID {
        let text = try r.string("queue name", limit: QueueName.maxBytes)
        let name: QueueName
        do { name = try QueueName(text) } catch { throw .invalid(field: "queue name", reason: error.description) }
        let index = try r.u16()
        guard Int(index) < QueueSettings.partitionCeiling else { throw .invalid(field: "partition", reason: "\(index)") }
        return PartitionID(queue: name, index: index)
    }
}
