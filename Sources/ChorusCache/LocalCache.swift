import ChorusBase

/// A byte-bounded LRU map from keys to payloads, with an optional expiry per entry.
///
/// Entries live in an array of slots threaded on an intrusive doubly-linked list (most
/// recent at `head`); a dictionary maps each key to its slot; freed slots are reused
/// through a free list. `get`, `put` and `remove` are O(1) (amortised for the dictionary).
/// Expiries are kept in a min-heap of marks, so dropping the expired entries costs
/// O(log n) per entry that expired, not a walk over every entry.
///
/// Invariants: every live slot is on the list exactly once and in `index` exactly once;
/// every live slot has exactly one current mark in `expiries` (a mark whose generation is
/// its slot's), and marks that are not current are at most `count + 64` more than the
/// current ones (they are dropped in one pass beyond that);
/// `bytes` is the sum of live entries' costs and, after any `put` returns, `bytes <=
/// capacity` unless a single entry is larger than the capacity (such an entry is refused).
public struct LocalCache<Payload> {
    /// Bytes charged per entry on top of its key and payload (slot, links, dictionary cell).
    public static var entryOverhead: Int { 64 }

    struct Slot {
        var key: CacheKey
        var payload: Payload?
        var cost: Int
        var expires: Instant
        var previous: Int32
        var next: Int32
        /// Bumped whenever the expiry is set or the slot freed: a mark names one setting.
        var generation: UInt32
    }

    /// One setting of one slot's expiry. Ordered by instant, then slot (no two current
    /// marks share a slot), so the pop order does not depend on the heap's layout.
    struct ExpiryMark: Comparable {
        let expires: Instant
        let slot: Int32
        let generation: UInt32
        static func < (a: ExpiryMark, b: ExpiryMark) -> Bool {
            (a.expires, a.slot, a.generation) < (b.expires, b.slot, b.generation)
        }
    }

    /// Why an entry left the cache, reported to the caller so it can tell the home.
    public enum Departure { case evicted, expired }

    public let capacity: Int
    public private(set) var bytes = 0
    private var slots: [Slot] = []
    private var index: [CacheKey: Int32] = [:]
    private var free: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1
    private(set) var expiries = MinHeap<ExpiryMark>()

    public init(capacity: Int) {
        precondition(capacity > 0, "a LocalCache needs a positive capacity")
        self.capacity = capacity
    }

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }

    /// The payload for `key` if present and not expired at `now`; marks it most recent.
    /// An expired entry is removed and returned in `departed`.
    public mutating func get(_ key: CacheKey, at now: Instant,
                             departed: inout [(CacheKey, Payload, Departure)]) -> Payload? {
        guard let i = index[key] else { return nil }
        if slots[Int(i)].expires <= now {
            if let p = removeSlot(i) { departed.append((key, p, .expired)) }
            return nil
        }
        moveToFront(i)
        return slots[Int(i)].payload
    }

    /// Marks `key`'s entry most recent, expired or not (a read answered elsewhere from a
    /// mirror of this entry; expiry is the tick's business). False when it is gone.
    @discardableResult
    public mutating func touch(_ key: CacheKey) -> Bool {
        guard let i = index[key] else { return false }
        moveToFront(i)
        return true
    }

    /// The payload without touching recency or expiry (for protocol handling, not reads).
    public func peek(_ key: CacheKey) -> Payload? {
        guard let i = index[key] else { return nil }
        return slots[Int(i)].payload
    }

    /// The instant `key`'s entry expires, if present.
    public func expiry(of key: CacheKey) -> Instant? {
        guard let i = index[key] else { return nil }
        return slots[Int(i)].expires
    }

    /// Inserts or replaces `key`, then evicts least-recent entries until the budget holds.
    /// Returns false (and holds nothing for `key` afterwards) when the entry alone exceeds
    /// the capacity.
    @discardableResult
    public mutating func put(_ key: CacheKey, _ payload: Payload, cost payloadCost: Int, expires: Instant,
                             departed: inout [(CacheKey, Payload, Departure)]) -> Bool {
        let cost = key.bytes.count &+ payloadCost &+ Self.entryOverhead
        guard cost <= capacity else {
            if let i = index[key] { _ = removeSlot(i) }
            return false
        }
        if let i = index[key] {
            bytes -= slots[Int(i)].cost
            slots[Int(i)].payload = payload
            slots[Int(i)].cost = cost
            slots[Int(i)].expires = expires
            bytes += cost
            moveToFront(i)
            mark(i)
        } else {
            let i: Int32
            if let reused = free.popLast() {
                i = reused
                let generation = slots[Int(i)].generation
                slots[Int(i)] = Slot(key: key, payload: payload, cost: cost, expires: expires, previous: -1, next: -1,
                                     generation: generation)
            } else {
                i = Int32(slots.count)
                slots.append(Slot(key: key, payload: payload, cost: cost, expires: expires, previous: -1, next: -1,
                                  generation: 0))
            }
            index[key] = i
            bytes += cost
            link(i)
            mark(i)
        }
        while bytes > capacity, tail >= 0 {
            let victim = tail
            let victimKey = slots[Int(victim)].key
            if let p = removeSlot(victim) { departed.append((victimKey, p, .evicted)) }
        }
        return true
    }

    /// Removes `key`; returns its payload.
    @discardableResult
    public mutating func remove(_ key: CacheKey) -> Payload? {
        guard let i = index[key] else { return nil }
        return removeSlot(i)
    }

    /// Removes every entry whose expiry is at or before `now`, earliest expiry first (ties by
    /// slot). O(log n) per entry removed or stale mark dropped; the controller calls it on
    /// ticks so expired copies do not hold bytes.
    public mutating func removeExpired(at now: Instant, departed: inout [(CacheKey, Payload, Departure)]) {
        while let top = expiries.min, top.expires <= now {
            _ = expiries.pop()
            guard isCurrent(top) else { continue }
            let key = slots[Int(top.slot)].key
            if let p = removeSlot(top.slot) { departed.append((key, p, .expired)) }
        }
    }

    /// Keys from most to least recent (for tests and reports).
    public var keysByRecency: [CacheKey] {
        var out: [CacheKey] = []
        var i = head
        while i >= 0 { out.append(slots[Int(i)].key); i = slots[Int(i)].next }
        return out
    }

    /// Every entry, from most to least recent.
    public var entries: [(CacheKey, Payload)] {
        var out: [(CacheKey, Payload)] = []
        var i = head
        while i >= 0 {
            if let p = slots[Int(i)].payload { out.append((slots[Int(i)].key, p)) }
            i = slots[Int(i)].next
        }
        return out
    }

    // MARK: expiry marks

    /// Freeing a slot bumps its generation too, so a match means the slot is live.
    private func isCurrent(_ m: ExpiryMark) -> Bool { slots[Int(m.slot)].generation == m.generation }

    /// Gives slot `i` a new current mark for its expiry; drops the stale marks in one pass
    /// once they outnumber the live entries by more than 64.
    private mutating func mark(_ i: Int32) {
        slots[Int(i)].generation &+= 1
        expiries.push(ExpiryMark(expires: slots[Int(i)].expires, slot: i, generation: slots[Int(i)].generation))
        if expiries.count > 2 &* index.count &+ 64 {
            let current = expiries.items.filter(isCurrent)
            expiries.rebuild(current)
        }
    }

    // MARK: list surgery

    private mutating func removeSlot(_ i: Int32) -> Payload? {
        unlink(i)
        let slot = slots[Int(i)]
        index[slot.key] = nil
        bytes -= slot.cost
        slots[Int(i)].payload = nil
        slots[Int(i)].key = CacheKey([])
        slots[Int(i)].generation &+= 1
        free.append(i)
        return slot.payload
    }

    private mutating func link(_ i: Int32) {
        slots[Int(i)].previous = -1
        slots[Int(i)].next = head
        if head >= 0 { slots[Int(head)].previous = i }
        head = i
        if tail < 0 { tail = i }
    }

    private mutating func unlink(_ i: Int32) {
        let p = slots[Int(i)].previous, n = slots[Int(i)].next
        if p >= 0 { slots[Int(p)].next = n } else { head = n }
        if n >= 0 { slots[Int(n)].previous = p } else { tail = p }
        slots[Int(i)].previous = -1
        slots[Int(i)].next = -1
    }

    private mutating func moveToFront(_ i: Int32) {
        guard head != i else { return }
        unlink(i)
        link(i)
    }
}
