import ChorusBase

/// A min-heap of (deadline, slot, incarnation) timers. Entries are never removed early;
/// the owner checks on pop whether an entry still matches its state (lazy cancellation).
/// Invariant: heap order on (deadline, insertion sequence), so equal deadlines pop in
/// insertion order and runs are deterministic.
struct DeadlineHeap {
    struct Entry {
        var deadline: Instant
        var sequence: UInt64
        var slot: Int32
        var incarnation: Incarnation
    }
    private var items: [Entry] = []
    private var counter: UInt64 = 0

    var peek: Entry? { items.first }
    var count: Int { items.count }

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }

    mutating func push(_ deadline: Instant, slot: Int32, incarnation: Incarnation) {
        counter += 1
        items.append(Entry(deadline: deadline, sequence: counter, slot: slot, incarnation: incarnation))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if DeadlineHeap.less(items[i], items[parent]) { items.swapAt(i, parent); i = parent } else { break }
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && DeadlineHeap.less(items[l], items[m]) { m = l }
            if r < items.count && DeadlineHeap.less(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m); i = m
        }
        return top
    }
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
