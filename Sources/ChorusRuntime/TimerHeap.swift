import ChorusBase

/// Identifies one scheduled timer so it can be cancelled. Invariant: an event loop never
/// hands out the same identifier twice.
public struct TimerID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public var description: String { "timer#\(value)" }
}

/// A min-heap of (deadline, timer) pairs. Invariant: the root is the earliest deadline,
/// and among equal deadlines the timer scheduled first (smaller id), so equal-deadline timers
/// fire in the order they were scheduled.
struct TimerHeap {
    struct Entry: Comparable {
        var deadline: Instant
        var id: TimerID

        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id.value) < (b.deadline, b.id.value) }
    }

    private var heap = MinHeap<Entry>()

    var entries: [Entry] { heap.items }
    var count: Int { heap.count }
    var first: Entry? { heap.min }

    mutating func push(_ entry: Entry) { heap.push(entry) }
    mutating func pop() -> Entry? { heap.pop() }

    /// Drops every entry `keep` rejects and restores the heap order in O(n).
    mutating func retain(where keep: (Entry) -> Bool) { heap.retain(where: keep) }
}
