/// Producer message ids seen within the dedup window, each with the offset its first copy
/// got, oldest first. Part of the replicated state, so deduplication holds across leader
/// changes.
///
/// Invariants: `order[head...]` lists every id of `offsets` once, in non-decreasing
/// `atMillis`; at most `capacity` ids are kept (the oldest is forgotten early past that).
struct DedupWindow: Sendable {
    struct Seen: Hashable, Sendable {
        let id: ProducerMessageID
        let offset: UInt64
        let atMillis: UInt64
    }

    let capacity: Int
    private var order: [Seen] = []
    private var head = 0
    private var offsets: [ProducerMessageID: UInt64] = [:]

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { offsets.count }

    /// Ids oldest first.
    var entries: ArraySlice<Seen> { order[head...] }

    subscript(id: ProducerMessageID) -> UInt64? { offsets[id] }

    /// Remembers `id` (not yet present) at `atMillis`, which is no earlier than any before.
    mutating func record(_ id: ProducerMessageID, offset: UInt64, atMillis: UInt64) {
        offsets[id] = offset
        order.append(Seen(id: id, offset: offset, atMillis: atMillis))
        if offsets.count > capacity { dropOldest() }
    }

    /// Forgets the ids seen at or before `cutoffMillis`.
    mutating func forget(through cutoffMillis: UInt64) {
        while head < order.count, order[head].atMillis <= cutoffMillis { dropOldest() }
    }

    private mutating func dropOldest() {
        offsets[order[head].id] = nil
        head += 1
        if head >= 1_024 && head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
