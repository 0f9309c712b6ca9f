/// The answer to one partition entry, for the client that sent it.
///
/// Invariant: replicas applying equal entries to equal partitions give equal replies.
public enum QueueReply: Hashable, Sendable {
    /// `publish`: one outcome per message, in batch order.
    case published([PublishOutcome])
    /// `fetch`: the leased messages, lowest offset first (empty when none was deliverable).
    case delivered([Delivery])
    /// `extend`, `ack`, `nack`: one outcome per receipt, in order.
    case settled([SettleOutcome])
    /// `tick`: the clock moved.
    case ticked
    /// `redrive`, `dropDeadLetters`, `purge`: how many messages it moved or deleted.
    case count(Int)
    /// The entry could not be decoded or breaks a rule (a fetch of 0 messages, a batch too
    /// long); nothing changed but the applied index.
    case invalid(String)
}

/// What became of one published message.
public enum PublishOutcome: Hashable, Sendable {
    /// Stored at this offset.
    case stored(offset: UInt64)
    /// Its producer id was published within the dedup window: the first copy's offset, and
    /// nothing stored.
    case duplicate(offset: UInt64)
    /// Not stored (`PublishRefusal` says why).
    case refused(PublishRefusal)
}

/// Why a message was not stored. Invariant: raw values are the wire encoding.
public enum PublishRefusal: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// The partition holds its share of `maxLength` messages (an HTTP 429).
    case queueFull = 1
    /// The partition's bodies would pass its share of `maxBytes` (an HTTP 507).
    case bytesFull = 2
    /// The body is larger than `maxMessageBytes` (an HTTP 413).
    case tooLarge = 3

    public var description: String {
        switch self {
        case .queueFull: return "queue_full"
        case .bytesFull: return "queue_bytes_full"
        case .tooLarge: return "message_too_large"
        }
    }
}

/// One leased message, as a fetch hands it to the consumer.
public struct Delivery: Hashable, Sendable {
    public let receipt: LeaseReceipt
    public let key: MessageKey?
    public let producerID: ProducerMessageID?
    public let body: [UInt8]
    public let publishedAtMillis: UInt64
    /// The lease runs out at this time unless extended or settled.
    public let leaseDeadlineMillis: UInt64
    /// Present on a message that came into a dead-letter queue.
    public let origin: DeadLetterOrigin?

    /// How many times the message has been delivered, this delivery included.
    public var deliveries: UInt32 { receipt.delivery }
}

/// What became of one receipt of an `extend`, `ack` or `nack`.
public enum SettleOutcome: Hashable, Sendable {
    /// `ack`: the message is gone for good.
    case acked
    /// `extend`: the lease now runs out at this time.
    case extended(deadlineMillis: UInt64)
    /// `nack`: deliverable again from this time.
    case requeued(availableAtMillis: UInt64)
    /// `nack`: the message became a dead letter.
    case deadLettered(DeadLetterReason)
    /// The receipt's lease is not the message's current one (it ran out; the message may
    /// have been delivered again): nothing changed.
    case leaseLost
    /// No message at this offset (acked, purged, moved to the dead-letter queue, or never
    /// stored): nothing changed. A retried ack whose first attempt applied gets this.
    case notFound
}
