import ChorusBase
import ChorusQueue
import ChorusRing

/// The queue service's soft state on one node: nothing here is replicated, and losing it
/// (a crash) loses no acknowledged message — it only fails or retries requests in flight.
///
/// Two roles:
/// - as the node that took a client's request: the queue settings it looked up, and each
///   request split into one part per partition (`QueueJob`), waiting for its parts;
/// - as a partition's leader: publishes waiting for the next group commit (one entry in
///   flight per partition, everything that arrives meanwhile goes into the next one), and
///   the clock entries in flight.
///
/// Invariants: every job's client is answered exactly once (when its last part answers, or
/// its wait ends); a part's id names one job; at most `publishesInFlight` publish entries and
/// one tick per partition are in flight from this node.
struct QueueDuties: Sendable {
    /// The ring text of the shard that holds the catalogue (`/` keeps it apart from `q/p`).
    static let catalogueKey = "queues/catalogue"
    /// How long a looked-up queue's settings are used before they are read again.
    static let infoLife: Interval = .seconds(2)
    /// How long a long poll that found nothing waits before it sweeps the partitions again:
    /// the first pause, doubled after each empty sweep up to the longest. Under load a
    /// message is found within a few milliseconds; an idle consumer costs one sweep per 50 ms.
    static let firstPause: Interval = .milliseconds(2)
    static let longestPause: Interval = .milliseconds(50)
    /// Publish entries one leader keeps in flight per partition: the next ones fill while
    /// earlier ones commit (Raft commits them in order, so a key's order holds).
    static let publishesInFlight = 4

    var infos: [QueueName: (info: QueueInfo, at: Instant)] = [:]
    var jobs: [UInt64: QueueJob] = [:]
    /// Part id → its job and the slot it fills.
    var parts: [UInt64: (job: UInt64, slot: Int)] = [:]
    var nextID: UInt64 = 1
    var rotations: [QueueName: PartitionRotation] = [:]

    /// Leader side: publishes waiting for the entry in flight to settle.
    var waiting: [PartitionID: [QueuePublishPart]] = [:]
    var inFlight: [PartitionID: Int] = [:]
    var ticking: Set<PartitionID> = []
    /// Leader side: partitions whose dead letters are on their way to the dead-letter queue
    /// (one move in flight per partition), and when a move that failed may be tried again.
    var moving: Set<PartitionID> = []
    var moveRetry: [PartitionID: Instant] = [:]
    /// Redrives moving dead letters back from a dead-letter queue, by id.
    var redrives: [UInt64: RedriveJob] = [:]

    /// Counts for the metrics: answers given, and latencies (publish and fetch) in ms.
    var published: UInt64 = 0
    var fetched: UInt64 = 0

    mutating func id() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }
}

/// One client request split over partitions, waiting for its parts.
struct QueueJob: Sendable {
    enum Phase: Sendable {
        /// Waiting for the queue's settings.
        case resolving
        /// Waiting for `pending` parts.
        case gathering
        /// A long poll that found nothing: sweep again at `at`.
        case parked(at: Instant)
    }

    var routed: Routed
    var info: QueueInfo?
    var phase: Phase = .resolving
    var pending = 0
    var started: Instant
    /// Which request positions each slot answers (publish, settle).
    var positions: [[Int]] = []
    var publishOutcomes: [PublishOutcome?] = []
    var settleOutcomes: [SettleOutcome?] = []
    var stats: [PartitionStats?] = []
    var deadLetters: [QueueDeadLetter] = []
    var count = 0
    var failure: ClientReply?
    /// Long poll: the partition order of this sweep, how far it got, and when it ends.
    var sweep: [UInt16] = []
    var sweepNext = 0
    var waitEnds: Instant?
    /// The pause before the next sweep when this one finds nothing.
    var pause = QueueDuties.firstPause
}

/// One request's publishes waiting for a partition's group commit on its leader.
struct QueuePublishPart: Sendable {
    var routed: Routed
    var messages: [OutgoingMessage]
}

/// A group commit in flight: whose messages it carries, in order.
struct QueueBatch: Sendable {
    var partition: PartitionID
    var shard: ShardID
    var parts: [QueuePublishPart]
}
