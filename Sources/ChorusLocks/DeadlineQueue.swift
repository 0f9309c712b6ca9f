import ChorusBase

/// A min-heap of one deadline per key, with update and removal by key (an indexed binary
/// heap), for the leader's lease and wait clocks.
///
/// Invariant: heap order on `(deadline, key)` — a total order, so equal deadlines come out
/// in key order and never in insertion or hash order; `position[key]` is the key's slot.
struct DeadlineQueue<Key: Hashable & Comparable & Sendable>: Sendable {
    private var heap: [(at: Instant, key: Key)] = []
    private var position: [Key: Int] = [:]

    var count: Int { heap.count }
    var first: (at: Instant, key: Key)? { heap.first }

    func deadline(of key: Key) -> Instant? { position[key].map { heap[$0].at } }

    /// Sets (or moves) the key's deadline.
    mutating func schedule(_ key: Key, at deadline: Instant) {
        if let i = position[key] {
            heap[i].at = deadline
            siftUp(siftDown(i))
        } else {
            heap.append((deadline, key))
            position[key] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    mutating func remove(_ key: Key) {
        guard let i = position.removeValue(forKey: key) else { return }
        let last = heap.count - 1
        if i != last {
            heap[i] = heap[last]
            position[heap[i].key] = i
        }
        heap.removeLast()
        if i < heap.count { siftUp(siftDown(i)) }
    }

    mutating func removeAll() { heap.removeAll(); position.removeAll() }

    /// Removes and returns every key whose deadline is at or before `now`, earliest first.
    mutating func popDue(at now: Instant) -> [(at: Instant, key: Key)] {
        var out: [(at: Instant, key: Key)] = []
        while let top = heap.first, top.at <= now {
            out.append(top)
            remove(top.key)
        }
        return out
    }

    private func less(_ i: Int, _ j: Int) -> Bool {
        heap[i].at != heap[j].at ? heap[i].at < heap[j].at : heap[i].key < heap[j].key
    }

    private mutating func swap(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        position[heap[i].key] = i
        position[heap[j].key] = j
    }

    @discardableResult private mutating func siftUp(_ start: Int) -> Int {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            swap(i, parent); i = parent
        }
        return i
    }

    private mutating func siftDown(_ start: Int) -> Int {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == i { return i }
            swap(i, m); i = m
        }
    }
}
