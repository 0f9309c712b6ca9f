import ChorusBase

/// Timed events ordered by (time, insertion number), so simultaneous events run in the order
/// they were scheduled. Invariant: the heap property on that order (`MinHeap`).
struct SimEventQueue<Event> {
    private struct Timed: Comparable {
        let at: Instant
        let seq: UInt64
        let event: Event
        static func < (a: Timed, b: Timed) -> Bool { (a.at, a.seq) < (b.at, b.seq) }
        static func == (a: Timed, b: Timed) -> Bool { (a.at, a.seq) == (b.at, b.seq) }
    }
    private var heap = MinHeap<Timed>()
    private var nextSeq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ event: Event, at time: Instant) {
        heap.push(Timed(at: time, seq: nextSeq, event: event))
        nextSeq &+= 1
    }

    mutating func pop() -> (Instant, Event)? {
        heap.pop().map { ($0.at, $0.event) }
    }
}
