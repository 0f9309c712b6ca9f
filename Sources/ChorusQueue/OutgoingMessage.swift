/// A message as a producer publishes it (one element of a `publish` batch).
/// Invariant: every field passed its type's validation; the body's size is checked by the
/// partition against `QueueSettings.maxMessageBytes` (a refusal, not a trap).
public struct OutgoingMessage: Hashable, Sendable {
    /// For deduplication within the queue's dedup window.
    public let producerID: ProducerMessageID?
    /// Picks the partition and orders the key's messages; nil for unordered messages.
    public let key: MessageKey?
    public let body: [UInt8]
    /// Set when the node moves a dead letter into a dead-letter queue.
    public let origin: DeadLetterOrigin?

    public init(body: [UInt8], key: MessageKey? = nil, producerID: ProducerMessageID? = nil, origin: DeadLetterOrigin? = nil) {
        self.producerID = producerID; self.key = key; self.body = body; self.origin = origin
    }
}
