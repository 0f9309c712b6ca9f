/// One entry of the catalogue's Raft log (applied on the one shard the node designates for
/// it): a command and the proposing leader's clock.
public struct CatalogueEntry: Hashable, Sendable {
    public let nowMillis: UInt64
    public let command: CatalogueCommand

    public init(nowMillis: UInt64, command: CatalogueCommand) { self.nowMillis = nowMillis; self.command = command }
}

/// A command of the queue catalogue.
public enum CatalogueCommand: Hashable, Sendable {
    /// Creates a queue with these settings. Creating an existing queue with the same
    /// settings answers `.exists` (so a retry is harmless); with other settings, `.conflict`.
    case create(QueueName, QueueSettings)
    /// Deletes a queue, unless another queue names it as its dead-letter queue.
    case delete(QueueName)
}

/// The answer to a catalogue entry.
public enum CatalogueReply: Hashable, Sendable {
    case created(QueueInfo)
    /// The queue exists with the settings asked for.
    case exists(QueueInfo)
    /// The queue exists with other settings (shown): nothing changed.
    case conflict(QueueInfo)
    case deleted(QueueInfo)
    case notFound(QueueName)
    /// Other queues send their dead letters to it (listed, in name order): not deleted.
    case inUse(by: [QueueName])
    /// The settings name a dead-letter queue that does not exist, or the queue itself.
    case deadLetterQueueMissing(QueueName)
    /// The catalogue holds its limit of queues.
    case full(limit: Int)
    /// The entry could not be decoded; nothing changed but the applied index.
    case invalid(String)
}
