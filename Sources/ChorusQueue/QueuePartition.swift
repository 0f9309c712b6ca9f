import ChorusBase
import ChorusWire

/// One partition of one queue: the replicated state machine that a shard's Raft group
/// applies, in log order, on every replica (the lock service's `LockTable` is its sibling).
///
/// Pure and deterministic: no clock, no I/O but the `MessageBodyStore` it is given, no
/// decision that follows hash order. Time reaches it only as the `nowMillis` of each
/// entry; the partition's clock is the largest such value seen, so it never goes back.
///
/// The rules, each in its own file:
/// - `+Publish`: group commit, deduplication by producer id, length/byte/size refusals;
/// - `+Fetch`: leases lowest offsets first, counts the delivery, FIFO keys;
/// - `+Settle`: ack, nack (delay or dead letter), extend, each checked against the lease;
/// - `+Clock`: leases that ran out (backoff or dead letter), delays that ended, old ids;
/// - `+DeadLetters`: redrive, drop after the move to a dead-letter queue, purge;
/// - `+Transitions`: the one place a message changes state, keeping every index in step;
/// - `+Snapshot`: the canonical image and its total, invariant-checking decoder.
///
/// Invariants (checked by the randomized replica test after every apply):
/// - an acked message never comes back; a message's delivery count never decreases;
/// - a message delivered `maxDeliveries` times since its last redrive and not acked
///   becomes a dead letter instead of being delivered again;
/// - no offset is reused: offsets grow by one per stored message;
/// - in FIFO mode, at most one message per key is leased or delayed, and a key's next
///   delivery is its lowest ready offset;
/// - the partition's messages and body bytes stay within its share of the queue's limits;
/// - equal partitions applying equal entries at equal indices stay equal and reply equally.
public struct QueuePartition<Bodies: MessageBodyStore> {
    public let partition: PartitionID
    /// The Raft index of the catalogue entry that created the queue: a partition of an
    /// earlier queue of the same name is told apart by it.
    public let incarnation: UInt64
    public let settings: QueueSettings
    /// The index of the last entry applied (0 before any).
    public internal(set) var appliedIndex: UInt64 = 0
    /// The latest `nowMillis` applied.
    public internal(set) var clockMillis: UInt64 = 0
    /// The offset the next stored message gets.
    public internal(set) var nextOffset: UInt64 = 1
    public internal(set) var counters = QueueCounters()
    public internal(set) var bodies: Bodies

    var records: [UInt64: MessageRecord] = [:]
    /// Where the messages that came in as dead letters of another queue came from.
    var origins: [UInt64: DeadLetterOrigin] = [:]
    var tally = StateTally()
    var storedBytes = 0
    /// No message has an offset below this.
    var floorOffset: UInt64 = 1
    var dedup: DedupWindow
    /// Messages believed ready, lowest offset first (stale entries are skipped).
    var ready = MinHeap<ReadyEntry>()
    /// Lease deadlines and delay ends, earliest first (stale entries are skipped).
    var timers = MinHeap<TimerEntry>()
    /// Dead letters, ascending offsets.
    var deadLetterOffsets: [UInt64] = []
    /// FIFO mode: the message holding each key (leased or delayed).
    var keyHolders: [MessageKey: UInt64] = [:]
    /// FIFO mode: ready messages taken off the ready heap because their key was held. When
    /// the key is released only the lowest returns to the heap (the key's next candidate),
    /// so a hot key's backlog is not moved back and forth at every delivery.
    var parked: [MessageKey: MinHeap<UInt64>] = [:]

    public init(partition: PartitionID, incarnation: UInt64, settings: QueueSettings, bodies: Bodies) throws(QueueSettingsError) {
        try settings.validate()
        guard Int(partition.index) < settings.partitions else {
            throw QueueSettingsError("partition \(partition.index) is outside the queue's \(settings.partitions) partitions")
        }
        self.partition = partition
        self.incarnation = incarnation
        self.settings = settings
        self.bodies = bodies
        self.dedup = DedupWindow(capacity: settings.maxDedupIDs)
    }

    /// Applies one committed entry. `index` is its Raft index; entries must come in log order
    /// (a programmer error otherwise, which traps).
    public mutating func apply(_ entry: QueueEntry, index: UInt64) -> QueueReply {
        precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
        appliedIndex = index
        advanceClock(to: entry.nowMillis)
        defer { compactHeaps() }
        switch entry.command {
        case let .publish(messages):
            return .published(messages.map { publish($0) })
        case let .fetch(consumer, maxMessages, maxBytes, visibility):
            return fetch(consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes, visibilityMillis: visibility)
        case let .extend(receipts, millis):
            return extend(receipts, millis: millis)
        case let .ack(receipts):
            return .settled(receipts.map { ack($0) })
        case let .nack(receipts, delay, deadLetter):
            return .settled(receipts.map { nack($0, delayMillis: delay, deadLetter: deadLetter) })
        case .tick:
            return .ticked
        case let .redrive(maxMessages):
            return redrive(maxMessages: maxMessages)
        case let .dropDeadLetters(offsets):
            return .count(offsets.reduce(0) { $0 + (dropDeadLetter($1) ? 1 : 0) })
        case let .purge(scope):
            return .count(purge(scope))
        }
    }

    /// Applies an entry's payload as it came out of the log: undecodable bytes are answered
    /// with `.invalid` and change nothing but `appliedIndex` (every replica decodes alike).
    public mutating func apply(encoded bytes: [UInt8], index: UInt64) -> QueueReply {
        do {
            return apply(try QueueCodec.decodeEntry(bytes), index: index)
        } catch {
            precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
            appliedIndex = index
            return .invalid("undecodable queue entry: \(error)")
        }
    }
}

extension QueuePartition: Sendable where Bodies: Sendable {}
