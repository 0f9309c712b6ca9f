/// A binary min-heap: the one heap of the protocol cores (timers, deadlines, ready messages).
/// Pops follow the elements' order alone — ties are broken by `Comparable`, never by insertion
/// or hash order — so two replicas or two runs holding the same elements pop the same
/// sequence whatever their internal layout. Element types that want insertion order among
/// equals carry a sequence number in their order.
/// Invariant: `items[i] <= items[2i+1]` and `items[i] <= items[2i+2]`.
public struct MinHeap<Element: Comparable> {
    public private(set) var items: [Element] = []

    public init() {}

    public var count: Int { items.count }
    public var isEmpty: Bool { items.isEmpty }
    public var min: Element? { items.first }

    public mutating func push(_ e: Element) {
        items.append(e)
        siftUp(items.count - 1)
    }

    public mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        if !items.isEmpty { siftDown(0) }
        return top
    }

    /// Replaces the contents in O(n) (used to drop stale entries in one pass).
    public mutating func rebuild(_ elements: [Element]) {
        items = elements
        var i = items.count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }

    /// Drops every element `keep` rejects, in O(n).
    public mutating func retain(where keep: (Element) -> Bool) {
        rebuild(items.filter(keep))
    }

    public mutating func removeAll() { items.removeAll() }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { return }
            items.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var least = i
            if l < items.count && items[l] < items[least] { least = l }
            if r < items.count && items[r] < items[least] { least = r }
            if least == i { return }
            items.swapAt(i, least)
            i = least
        }
    }
}

extension MinHeap: Sendable where Element: Sendable {}
extension MinHeap: Equatable where Element: Equatable {}
extension MinHeap: Hashable where Element: Hashable {}
