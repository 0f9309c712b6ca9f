import ChorusBase

/// Identifies one scheduled timer so it can be cancelled. Invariant: an event loop never
/// hands out the same identifier twice.
public struct TimerID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public var description: String { "timer#\(value)" }
}

/// A binary min-heap of (deadline, timer) pairs. Invariant: the root is the earliest deadline,
/// and among equal deadlines the timer scheduled first (smaller id), so equal-deadline timers
/// fire in the order they were scheduled.
struct TimerHeap {
    struct Entry {
        var deadline: Instant
        var id: TimerID

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : id.value < other.id.value
        }
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var first: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        siftUp(entries.count - 1)
    }

    mutating func pop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        if !entries.isEmpty { siftDown(0) }
        return top
    }

    /// Drops every entry `keep` rejects and restores the heap order in O(n).
    mutating func retain(where keep: (Entry) -> Bool) {
        entries.removeAll { !keep($0) }
        var i = entries.count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= n { return }
            var best = left
            let right = left + 1
            if right < n && entries[right].precedes(entries[left]) { best = right }
            guard entries[best].precedes(entries[parent]) else { return }
            entries.swapAt(best, parent)
            parent = best
        }
    }
}
