/// The AppendEntries a leader has sent to one follower in pipelined replication and not yet
/// seen acknowledged: for each, the last index it carried and its entry bytes.
///
/// Invariants: indices increase from oldest to newest; `bytes` is the sum over the window;
/// `isFull` once either cap is reached, which pauses replication to the follower (etcd's
/// inflights, plus its byte cap).
struct Inflights: Sendable {
    let maxCount: Int
    let maxBytes: Int
    private var items: [(index: LogIndex, bytes: Int)] = []
    private var head = 0
    private(set) var bytes = 0

    init(maxCount: Int, maxBytes: Int) { self.maxCount = maxCount; self.maxBytes = maxBytes }

    var count: Int { items.count - head }
    var isFull: Bool { count >= maxCount || bytes >= maxBytes }

    mutating func add(_ index: LogIndex, bytes: Int) {
        items.append((index, bytes))
        self.bytes += bytes
    }

    /// The follower acknowledged everything through `index`.
    mutating func free(through index: LogIndex) {
        while head < items.count && items[head].index <= index {
            bytes -= items[head].bytes
            head += 1
        }
        compactIfWorthIt()
    }

    /// A heartbeat answer proves the follower is alive: let one more message through.
    mutating func freeFirst() {
        guard head < items.count else { return }
        bytes -= items[head].bytes
        head += 1
        compactIfWorthIt()
    }

    mutating func reset() {
        items.removeAll(keepingCapacity: true)
        head = 0
        bytes = 0
    }

    private mutating func compactIfWorthIt() {
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        else if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
    }
}
