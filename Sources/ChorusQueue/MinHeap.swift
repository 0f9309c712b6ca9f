/// A binary min-heap. Pops follow the elements' order alone (ties broken by `Comparable`,
/// never by insertion or hash order), so two replicas holding the same elements pop the
/// same sequence whatever their internal layout.
/// Invariant: `items[i] <= items[2i+1]` and `items[i] <= items[2i+2]`.
struct MinHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var items: [Element] = []

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var min: Element? { items.first }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var least = i
            if l < items.count && items[l] < items[least] { least = l }
            if r < items.count && items[r] < items[least] { least = r }
            if least == i { break }
            items.swapAt(i, least)
            i = least
        }
        return top
    }

    /// Replaces the contents (used to drop stale entries in one pass).
    mutating func rebuild(_ elements: [Element]) {
        items = []
        items.reserveCapacity(elements.count)
        for e in elements { push(e) }
    }
}

/// An entry of the ready heap: a message believed deliverable, valid while the message's
/// epoch is still `epoch`.
struct ReadyEntry: Comparable, Sendable {
    let offset: UInt64
    let epoch: UInt32
    static func < (a: ReadyEntry, b: ReadyEntry) -> Bool { (a.offset, a.epoch) < (b.offset, b.epoch) }
}

/// An entry of the timer heap: a lease deadline or the end of a delay, valid while the
/// message's epoch is still `epoch`. Due timers fire in (time, offset) order.
struct TimerEntry: Comparable, Sendable {
    let atMillis: UInt64
    let offset: UInt64
    let epoch: UInt32
    static func < (a: TimerEntry, b: TimerEntry) -> Bool { (a.atMillis, a.offset, a.epoch) < (b.atMillis, b.offset, b.epoch) }
}
