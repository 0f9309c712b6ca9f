/// One entry of a queue partition's Raft log: a command and the proposing leader's clock.
///
/// Invariant: the entry holds everything its effect depends on — time enters the partition
/// only as `nowMillis`, stamped by the leader that proposes it — so every replica applying
/// the same log computes the same partition and the same replies.
public struct QueueEntry: Hashable, Sendable {
    /// The proposing leader's wall clock, in milliseconds. The partition never lets its own
    /// clock go back: a new leader whose clock is behind the old one's acts at the old time.
    public let nowMillis: UInt64
    public let command: QueueCommand

    public init(nowMillis: UInt64, command: QueueCommand) { self.nowMillis = nowMillis; self.command = command }
}

/// A command of a queue partition, applied in log order by `QueuePartition.apply`.
public enum QueueCommand: Hashable, Sendable {
    /// Stores a batch of messages (group commit: many in one entry), each answered on its own
    /// (`PublishOutcome`): stored, a duplicate of an earlier id, or refused.
    case publish([OutgoingMessage])
    /// Leases up to `maxMessages` deliverable messages (fewer once `maxBytes` of bodies are
    /// taken; 0 means no byte bound) to `consumer` for `visibilityMillis` (0 means the queue's
    /// visibility timeout), lowest offsets first, counting one more delivery for each.
    case fetch(consumer: ConsumerID, maxMessages: Int, maxBytes: Int, visibilityMillis: UInt64)
    /// Moves each receipt's lease deadline to `nowMillis + millis`.
    case extend([LeaseReceipt], millis: UInt64)
    /// Removes each receipt's message for good.
    case ack([LeaseReceipt])
    /// Returns each receipt's message: deliverable again after `delayMillis`, or a dead letter
    /// at once when `deadLetter` is set or its deliveries reached the limit.
    case nack([LeaseReceipt], delayMillis: UInt64, deadLetter: Bool)
    /// Only moves the clock: leases that ran out are returned (with backoff) or dead-lettered,
    /// delays that ended make messages deliverable, old producer ids are forgotten. The leader
    /// proposes it when `QueuePartition.nextDeadlineMillis` has passed and nothing else is due.
    case tick
    /// Returns up to `maxMessages` dead letters of this partition, oldest first, to the
    /// deliverable messages, with a fresh delivery allowance.
    case redrive(maxMessages: Int)
    /// Forgets dead letters that the node has published into the queue's dead-letter queue.
    case dropDeadLetters([UInt64])
    /// Deletes messages at once: the live ones (ready, delayed, leased), the dead letters, or
    /// both (SQS's `PurgeQueue` deletes the live ones).
    case purge(PurgeScope)
}

/// What a purge deletes. Invariant: raw values are the wire encoding.
public enum PurgeScope: UInt8, Hashable, Sendable {
    case live = 1
    case deadLetters = 2
    case all = 3
}
