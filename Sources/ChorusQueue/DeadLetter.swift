/// Why a message became a dead letter. Invariant: raw values are the wire encoding.
public enum DeadLetterReason: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// It was delivered `maxDeliveries` times (since its last redrive) without an ack.
    case maxDeliveries = 1
    /// A consumer rejected it: a nack that asked for dead-lettering (RabbitMQ's
    /// `basic.reject` with `requeue=false`).
    case rejected = 2

    public var description: String { self == .maxDeliveries ? "max_deliveries" : "rejected" }
}

/// One delivery that did not end in an ack: what a dead letter's history lists.
public struct DeliveryFailure: Hashable, Sendable {
    /// How a delivery failed. Invariant: raw values are the wire encoding.
    public enum Kind: UInt8, Hashable, Sendable, CustomStringConvertible {
        /// The lease ran out.
        case leaseExpired = 1
        /// The consumer returned it (nack).
        case nacked = 2

        public var description: String { self == .leaseExpired ? "lease_expired" : "nacked" }
    }

    /// The most recent failures kept per message; older ones are dropped first.
    public static let kept = 16

    /// The delivery number that failed.
    public let delivery: UInt32
    public let kind: Kind
    /// When: the lease deadline for `.leaseExpired`, the nack's time for `.nacked`.
    public let atMillis: UInt64
    public let consumer: ConsumerID

    public init(delivery: UInt32, kind: Kind, atMillis: UInt64, consumer: ConsumerID) {
        self.delivery = delivery; self.kind = kind; self.atMillis = atMillis; self.consumer = consumer
    }
}

/// Where a message in a dead-letter queue came from, carried with it when the node moves a
/// dead letter out of its partition into the queue named by `deadLetterQueue`, so that a
/// redrive knows where it goes back and an operator sees why it died.
public struct DeadLetterOrigin: Hashable, Sendable {
    public let partition: PartitionID
    public let offset: UInt64
    public let reason: DeadLetterReason
    public let deliveries: UInt32
    /// Oldest first, at most `DeliveryFailure.kept`.
    public let failures: [DeliveryFailure]

    public init(partition: PartitionID, offset: UInt64, reason: DeadLetterReason, deliveries: UInt32, failures: [DeliveryFailure]) {
        self.partition = partition; self.offset = offset; self.reason = reason
        self.deliveries = deliveries; self.failures = Array(failures.suffix(DeliveryFailure.kept))
    }

    /// The producer id under which the node publishes this dead letter into its
    /// dead-letter queue: a retried move (the node crashed between the publish and
    /// `dropDeadLetters`) is then deduplicated like any other retried publish.
    public var transferID: ProducerMessageID {
        // At most 3 + 80 + 1 + 4 + 1 + 20 = 109 printable ASCII bytes: within the 128 allowed.
        ProducerMessageID(trusted: "dl/\(partition.placementKey)/\(offset)")
    }
}

extension Delivery {
    /// The producer id under which a redrive publishes this message (leased from the
    /// dead-letter queue's partition `from`) back into the queue it came from. It names this
    /// one delivery, so a redrive retried after a lost answer is deduplicated, while a later
    /// redrive of the same message (a new delivery) is not mistaken for a repeat. It cannot
    /// reuse the producer's own id: that one may still be in the source queue's dedup window.
    public func redriveID(from: PartitionID) -> ProducerMessageID {
        // At most 3 + 80 + 1 + 4 + 1 + 20 + 1 + 10 = 120 printable ASCII bytes: within the 128 allowed.
        ProducerMessageID(trusted: "rd/\(from.placementKey)/\(receipt.offset)/\(receipt.delivery)")
    }
}
