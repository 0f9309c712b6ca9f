/// Where a stored message stands. A message is in exactly one of these states.
enum MessageState: Hashable, Sendable {
    /// Deliverable now (in FIFO mode: once no earlier message of its key is leased or delayed).
    case ready
    /// Deliverable from `untilMillis` on (after a nack with delay, or a lease that ran out).
    case delayed(untilMillis: UInt64)
    /// Leased to `consumer` until `deadlineMillis`.
    case leased(consumer: ConsumerID, deadlineMillis: UInt64)
    /// A dead letter since `atMillis`: never delivered again unless redriven.
    case dead(DeadLetterReason, atMillis: UInt64)
}

/// Everything a partition keeps about one message except its body (which lives in the
/// `MessageBodyStore`, so that bodies can move to disk while this stays small) and the
/// origin of a message that came in as a dead letter (rare, and large: kept beside it).
/// About 110 bytes; the partition's memory per message is this plus its dictionary slot
/// and any key or id longer than 15 bytes.
///
/// Invariants: `deliveries` never decreases; `allowanceBase <= deliveries`, and a message
/// that is not dead has had fewer than `maxDeliveries` deliveries since `allowanceBase`
/// unless it is leased for its last one; `epoch` changes whenever the state does, so timer
/// and ready-heap entries made for an earlier state are recognised as stale.
struct MessageRecord: Sendable {
    let offset: UInt64
    let key: MessageKey?
    let producerID: ProducerMessageID?
    let publishedAtMillis: UInt64
    let bodyBytes: Int
    var deliveries: UInt32 = 0
    /// `deliveries` when the message was last redriven: the limit counts from here.
    var allowanceBase: UInt32 = 0
    var state: MessageState = .ready
    /// Most recent failed deliveries, oldest first, at most `DeliveryFailure.kept`.
    var failures: [DeliveryFailure] = []
    /// Not part of the replicated image: it only validates heap entries of this replica.
    var epoch: UInt32 = 0

    init(offset: UInt64, message: OutgoingMessage, publishedAtMillis: UInt64) {
        self.init(offset: offset, key: message.key, producerID: message.producerID, publishedAtMillis: publishedAtMillis,
                  bodyBytes: message.body.count)
    }

    init(offset: UInt64, key: MessageKey?, producerID: ProducerMessageID?, publishedAtMillis: UInt64, bodyBytes: Int) {
        self.offset = offset; self.key = key; self.producerID = producerID
        self.publishedAtMillis = publishedAtMillis; self.bodyBytes = bodyBytes
    }

    /// Deliveries since the last redrive, which `maxDeliveries` bounds.
    var deliveriesCounted: UInt32 { deliveries &- allowanceBase }

    var isDead: Bool { if case .dead = state { return true } else { return false } }

    /// Whether it is leased or waiting out a delay: what holds its key in FIFO mode.
    var holdsKey: Bool {
        switch state {
        case .leased, .delayed: return true
        case .ready, .dead: return false
        }
    }

    mutating func enter(_ next: MessageState) {
        state = next
        epoch &+= 1
    }

    mutating func remember(_ failure: DeliveryFailure) {
        if failures.count >= DeliveryFailure.kept { failures.removeFirst(failures.count - DeliveryFailure.kept + 1) }
        failures.append(failure)
    }
}
