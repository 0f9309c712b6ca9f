/// Read-only views for the node: stats for the API and metrics, what is deliverable for
/// long polls, and the dead letters to move or show.
extension QueuePartition {
    public var stats: PartitionStats {
        PartitionStats(ready: tally.ready, delayed: tally.delayed, leased: tally.leased, deadLetters: tally.dead,
                       bytes: storedBytes, oldestPublishedAtMillis: records[floorOffset]?.publishedAtMillis,
                       lowestOffset: floorOffset, nextOffset: nextOffset, dedupIDs: dedup.count, counters: counters)
    }

    /// Whether some message is ready. In FIFO mode a ready message may still wait for its
    /// key, so a fetch can come back empty while this holds: a long poll that found nothing
    /// waits for the next change.
    public var hasReadyMessages: Bool { tally.ready > 0 }

    /// Up to `limit` dead letters, lowest offset first.
    public func deadLetters(limit: Int) -> [DeadLetterView] {
        deadLetterOffsets.prefix(max(0, limit)).compactMap { offset in
            guard let r = records[offset], case let .dead(reason, at) = r.state, let body = bodies.body(at: offset) else { return nil }
            let origin = DeadLetterOrigin(partition: partition, offset: offset, reason: reason,
                                          deliveries: r.deliveries, failures: r.failures)
            return DeadLetterView(origin: origin, diedAtMillis: at, key: r.key, producerID: r.producerID,
                                  body: body, publishedAtMillis: r.publishedAtMillis, earlierOrigin: origins[offset])
        }
    }

    /// A 64-bit digest of the replicated state (the snapshot image's stable hash): equal on
    /// replicas that applied the same entries.
    public func digest() -> UInt64 { StableHash.hash(snapshot()) }
}

/// Counts and totals of one partition.
public struct PartitionStats: Hashable, Sendable {
    public let ready: Int
    public let delayed: Int
    public let leased: Int
    public let deadLetters: Int
    public let bytes: Int
    /// When the oldest message still held (of any state) was published; nil when empty.
    public let oldestPublishedAtMillis: UInt64?
    /// No message has a lower offset: a body log may drop everything below it.
    public let lowestOffset: UInt64
    public let nextOffset: UInt64
    public let dedupIDs: Int
    public let counters: QueueCounters

    /// Messages held, dead letters included.
    public var messages: Int { ready + delayed + leased + deadLetters }
}

/// One dead letter as the node shows it or moves it to the queue's dead-letter queue.
public struct DeadLetterView: Hashable, Sendable {
    /// Where it died, why, and its delivery history.
    public let origin: DeadLetterOrigin
    public let diedAtMillis: UInt64
    public let key: MessageKey?
    public let producerID: ProducerMessageID?
    public let body: [UInt8]
    public let publishedAtMillis: UInt64
    /// Set when the message had itself come in as a dead letter of another queue.
    public let earlierOrigin: DeadLetterOrigin?

    public init(origin: DeadLetterOrigin, diedAtMillis: UInt64, key: MessageKey?, producerID: ProducerMessageID?, body: [UInt8],
                publishedAtMillis: UInt64, earlierOrigin: DeadLetterOrigin?) {
        self.origin = origin; self.diedAtMillis = diedAtMillis; self.key = key; self.producerID = producerID
        self.body = body; self.publishedAtMillis = publishedAtMillis; self.earlierOrigin = earlierOrigin
    }

    /// The message to publish into the dead-letter queue; once stored there, the node
    /// proposes `dropDeadLetters([origin.offset])` to this partition. Its producer id makes
    /// a retried move a duplicate rather than a second copy.
    public var transfer: OutgoingMessage {
        OutgoingMessage(body: body, key: key, producerID: origin.transferID, origin: origin)
    }
}

extension QueuePartition {
    /// Whether the partition holds a message at `offset` (in any state): what a disk body
    /// store keeps after recovery (`SegmentBodyStore.retain(only:)`).
    public func holdsMessage(at offset: UInt64) -> Bool { records[offset] != nil }

    /// The offsets of the messages held, ascending: the order of the snapshot image's records.
    public var liveOffsets: [UInt64] { records.keys.sorted() }
}
