import ChorusQueue

/// What the leader of one queue partition is asked to do (inside `ClientRequest.queuePartition`):
/// propose a partition command, or answer from its applied state.
///
/// Invariant: a `.command` is stamped with the leader's clock when proposed, never with the
/// asking node's, so time in a partition is only ever its leaders' time.
public enum QueueOperation: Hashable, Sendable {
    /// Propose this command (publishes are grouped with others for the same partition).
    case command(QueueCommand)
    /// Lease messages if any is ready now; an empty answer without a proposal otherwise (the
    /// asking node sweeps the partitions again while its long poll lasts).
    case fetchIfReady(consumer: ConsumerID, maxMessages: Int, maxBytes: Int, visibilityMillis: UInt64)
    /// The partition's counts and counters as applied on the leader.
    case stats
    /// Up to this many of the partition's dead letters, as applied on the leader.
    case deadLetters(limit: Int)
    /// Drop the partition's state: its queue (this incarnation) was deleted.
    case drop
}

/// One dead letter of a queue as the node lists it: its partition and the letter.
public struct QueueDeadLetter: Hashable, Sendable {
    public let partition: UInt16
    public let letter: DeadLetterView
}

/// A lease receipt as clients see it: the partition and the delivery, `p:offset.delivery`.
/// Invariant: `partition` is below the queue's partition count once checked by the node.
public struct QueueReceipt: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let partition: UInt16
    public let lease: LeaseReceipt

    public init(partition: UInt16, lease: LeaseReceipt) { self.partition = partition; self.lease = lease }

    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let p = UInt16(parts[0]), let lease = LeaseReceipt(parsing: String(parts[1])) else { return nil }
        self.init(partition: p, lease: lease)
    }

    public var description: String { "\(partition):\(lease)" }
    public static func < (a: QueueReceipt, b: QueueReceipt) -> Bool { (a.partition, a.lease) < (b.partition, b.lease) }
}

/// What a consumer does with its receipts.
public enum QueueSettlement: Hashable, Sendable {
    case ack
    case nack(delayMillis: UInt64, deadLetter: Bool)
    case extend(millis: UInt64)

    func command(_ receipts: [LeaseReceipt]) -> QueueCommand {
        switch self {
        case .ack: return .ack(receipts)
        case let .nack(delay, deadLetter): return .nack(receipts, delayMillis: delay, deadLetter: deadLetter)
        case let .extend(millis): return .extend(receipts, millis: millis)
        }
    }
}

/// One delivered message as the node hands it to a consumer: its partition and the delivery.
public struct QueueDelivery: Hashable, Sendable {
    public let partition: UInt16
    public let delivery: Delivery
    public var receipt: QueueReceipt { QueueReceipt(partition: partition, lease: delivery.receipt) }
}

/// A queue's settings and the statistics of each partition (nil where its leader did not
/// answer in time).
public struct QueueStatistics: Hashable, Sendable {
    public let info: QueueInfo
    public let partitions: [PartitionStats?]
}
