import ChorusBase

/// A binary min-heap of timed events ordered by (time, insertion number), so simultaneous
/// events run in the order they were scheduled. Invariant: the heap property on that order.
struct SimEventQueue<Event> {
    private var heap: [(at: Instant, seq: UInt64, event: Event)] = []
    private var nextSeq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ event: Event, at time: Instant) {
        heap.append((time, nextSeq, event))
        nextSeq &+= 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(i, parent) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Instant, Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count && before(l, best) { best = l }
            if r < heap.count && before(r, best) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return (top.at, top.event)
    }

    private func before(_ a: Int, _ b: Int) -> Bool {
        (heap[a].at, heap[a].seq) < (heap[b].at, heap[b].seq)
    }
}
