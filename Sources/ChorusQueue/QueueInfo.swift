/// A queue as the catalogue knows it.
/// Invariant: `settings` passed `validate()`; `incarnation` is the Raft index of the entry
/// that created the queue, so a queue deleted and created again gets a new one.
public struct QueueInfo: Hashable, Sendable {
    public let name: QueueName
    public let settings: QueueSettings
    public let incarnation: UInt64
    public let createdAtMillis: UInt64

    public init(name: QueueName, settings: QueueSettings, incarnation: UInt64, createdAtMillis: UInt64) {
        self.name = name; self.settings = settings; self.incarnation = incarnation; self.createdAtMillis = createdAtMillis
    }

    /// The queue's partitions, in index order.
    public var partitions: [PartitionID] { (0..<settings.partitions).map { PartitionID(queue: name, index: UInt16($0)) } }
}
