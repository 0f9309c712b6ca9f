/// Running totals of one partition, replicated (they are part of the applied state and its
/// snapshot), so the per-queue metrics do not restart at a leader change.
/// Invariant: each counter only grows (wrapping at 2^64, which no run reaches).
public struct QueueCounters: Hashable, Sendable {
    public var published: UInt64 = 0
    public var duplicates: UInt64 = 0
    public var refused: UInt64 = 0
    public var deliveries: UInt64 = 0
    /// Deliveries after the first of a message.
    public var redeliveries: UInt64 = 0
    public var acked: UInt64 = 0
    public var nacked: UInt64 = 0
    public var leasesExpired: UInt64 = 0
    public var deadLettered: UInt64 = 0
    public var redriven: UInt64 = 0
    public var droppedDeadLetters: UInt64 = 0
    public var purged: UInt64 = 0

    public init() {}

    static let count = 12

    /// Every counter in a fixed order (the snapshot's).
    var all: [UInt64] {
        [published, duplicates, refused, deliveries, redeliveries, acked, nacked, leasesExpired,
         deadLettered, redriven, droppedDeadLetters, purged]
    }

    /// The counters from `all`'s order; `values` holds exactly `QueueCounters.count` values.
    init(_ v: [UInt64]) {
        precondition(v.count == QueueCounters.count, "a counter image has \(QueueCounters.count) values")
        published = v[0]; duplicates = v[1]; refused = v[2]; deliveries = v[3]; redeliveries = v[4]; acked = v[5]
        nacked = v[6]; leasesExpired = v[7]; deadLettered = v[8]; redriven = v[9]; droppedDeadLetters = v[10]; purged = v[11]
    }
}

/// How many messages are in each state, kept in step with every transition.
struct StateTally: Hashable, Sendable {
    var ready = 0, delayed = 0, leased = 0, dead = 0

    mutating func add(_ s: MessageState, _ n: Int) {
        switch s {
        case .ready: ready += n
        case .delayed: delayed += n
        case .leased: leased += n
        case .dead: dead += n
        }
    }
}
