import ChorusBase

/// A min-heap of (deadline, slot, incarnation) timers. Entries are never removed early;
/// the owner checks on pop whether an entry still matches its state (lazy cancellation).
/// Invariant: heap order on (deadline, insertion sequence), so equal deadlines pop in
/// insertion order and runs are deterministic.
struct DeadlineHeap {
    struct Entry: Comparable {
        var deadline: Instant
        var sequence: UInt64
        var slot: Int32
        var incarnation: Incarnation

        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.sequence) < (b.deadline, b.sequence) }
        static func == (a: Entry, b: Entry) -> Bool { (a.deadline, a.sequence) == (b.deadline, b.sequence) }
    }
    private var heap = MinHeap<Entry>()
    private var counter: UInt64 = 0

    var peek: Entry? { heap.min }
    var count: Int { heap.count }

    mutating func push(_ deadline: Instant, slot: Int32, incarnation: Incarnation) {
        counter += 1
        heap.push(Entry(deadline: deadline, sequence: counter, slot: slot, incarnation: incarnation))
    }

    mutating func pop() -> Entry? { heap.pop() }
}

/// The probe of one member in the current protocol period.
struct ProbeInFlight {
    enum Phase { case direct, indirect }
    var slot: Int32
    var name: String
    var seq: UInt32
    var sentAt: Instant
    var phase: Phase
    var directDeadline: Instant
    var indirectDeadline: Instant
    /// The members asked to ping the target for us, and those of them that sent a nack:
    /// nacks count once per helper (Lifeguard §IV.A), so a repeated or forged nack cannot
    /// hide our own slowness.
    var helpers: [String] = []
    var nackers: [String] = []
    var nacksExpected: Int { helpers.count }
    var nacksReceived: Int { nackers.count }
}

/// A ping-req this node relays: it pinged `target` on behalf of `requester`.
struct Relay {
    var seq: UInt32
    var requester: Endpoint
    var requesterSeq: UInt32
    var nackAt: Instant
}

/// A running suspicion of one member (Lifeguard §IV.B).
struct Suspicion {
    var incarnation: Incarnation
    var startedAt: Instant
    /// Distinct members that suspect it, the first accuser first; bounded.
    var accusers: [String]
    var deadline: Instant
}

enum JoinState {
    case idle
    case joining(seeds: [Endpoint], attempt: Int, retryAt: Instant)
    case joined
}

enum LeaveState {
    case active
    case leaving(deadline: Instant)
    case left
}
