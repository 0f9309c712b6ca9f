/// Which partition of a queue a published message goes to.
///
/// A keyed message goes to `partition(forKey:partitions:)`: a stable hash of the key's bytes
/// mapped onto 0..<partitions, the same on every node and in every process, so all messages
/// of a key land in one partition and keep their order there. An unkeyed message with a
/// producer id goes to `partition(forProducerID:partitions:)`, so that a retry through any
/// node meets the first copy's dedup window. The other unkeyed messages of a batch (which
/// then stay one group commit) go to the next partition of a rotation that each publishing
/// node keeps for each queue.
public enum PartitionChoice {
    public static func partition(forProducerID id: ProducerMessageID, partitions: Int) -> UInt16 {
        precondition(partitions >= 1 && partitions <= QueueSettings.partitionCeiling, "partition count out of range")
        return UInt16(StableHash.hash(("id/" + id.text).utf8).multipliedFullWidth(by: UInt64(partitions)).high)
    }

    public static func partition(forKey key: MessageKey, partitions: Int) -> UInt16 {
        precondition(partitions >= 1 && partitions <= QueueSettings.partitionCeiling, "partition count out of range")
        // Lemire's multiply-shift maps the hash onto 0..<partitions without a division.
        return UInt16(StableHash.hash(key.text.utf8).multipliedFullWidth(by: UInt64(partitions)).high)
    }
}

/// The rotation over a queue's partitions for unkeyed messages. Starting points differ per
/// node (the driver passes, say, a hash of the node's name) so that nodes do not all begin
/// on partition 0. Invariant: `choose` returns each index once per `partitions` calls.
public struct PartitionRotation: Hashable, Sendable {
    private var position: UInt64

    public init(start: UInt64) { position = start }

    public mutating func choose(partitions: Int) -> UInt16 {
        precondition(partitions >= 1 && partitions <= QueueSettings.partitionCeiling, "partition count out of range")
        defer { position &+= 1 }
        return UInt16(position % UInt64(partitions))
    }
}
