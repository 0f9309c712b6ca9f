import ChorusCache

/// The mirror's map from keys to readable copies: open addressing with linear probing over
/// the keys' digests (`CacheKey.digest`, already the seeded hash of the bytes, so the table
/// does not hash again), entries packed in one array.
///
/// Invariants: `slots.count` is a power of two and at least twice the entry count (probes
/// end at an empty slot); every entry has exactly one slot holding its index and digest,
/// reachable from its digest's home slot without crossing an empty slot (deletion shifts
/// the followers back instead of leaving tombstones).
struct LocalCopyTable {
    private struct Slot {
        var digest: Int
        /// Index into `entries`; -1 for an empty slot.
        var entry: Int
        static let empty = Slot(digest: 0, entry: -1)
    }

    private var slots = [Slot](repeating: .empty, count: 16)
    private var entries: [(key: CacheKey, copy: LocalCopy)] = []

    var count: Int { entries.count }

    private var mask: Int { slots.count &- 1 }

    /// The slot of `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: CacheKey) -> (slot: Int, found: Bool) {
        var i = key.digest & mask
        while true {
            let s = slots[i]
            if s.entry < 0 { return (i, false) }
            if s.digest == key.digest && entries[s.entry].key.bytes == key.bytes { return (i, true) }
            i = (i &+ 1) & mask
        }
    }

    subscript(key: CacheKey) -> LocalCopy? {
        get {
            let (slot, found) = find(key)
            return found ? entries[slots[slot].entry].copy : nil
        }
        set {
            if let copy = newValue { insert(key, copy) } else { remove(key) }
        }
    }

    private mutating func insert(_ key: CacheKey, _ copy: LocalCopy) {
        let (slot, found) = find(key)
        if found {
            entries[slots[slot].entry].copy = copy
            return
        }
        if (entries.count &+ 1) &* 2 > slots.count {
            grow()
            return insert(key, copy)
        }
        slots[slot] = Slot(digest: key.digest, entry: entries.count)
        entries.append((key, copy))
    }

    private mutating func remove(_ key: CacheKey) {
        let (slot, found) = find(key)
        guard found else { return }
        let removed = slots[slot].entry
        // Keep `entries` packed: the last entry takes the removed one's place.
        let last = entries.count &- 1
        if removed != last {
            let moved = entries[last].key
            let (movedSlot, _) = find(moved)
            slots[movedSlot].entry = removed
            entries.swapAt(removed, last)
        }
        entries.removeLast()
        // Backward-shift deletion: pull later members of the probe run into the hole.
        var hole = slot
        var i = (slot &+ 1) & mask
        while slots[i].entry >= 0 {
            let home = slots[i].digest & mask
            // Move slot i into the hole unless its home lies cyclically in (hole, i].
            let distanceToI = (i &- home) & mask
            let distanceToHole = (hole &- home) & mask
            if distanceToHole < distanceToI {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        slots[hole] = .empty
        if slots.count > 16 && entries.count &* 8 < slots.count { shrink() }
    }

    mutating func removeAll() {
        slots = [Slot](repeating: .empty, count: 16)
        entries = []
    }

    private mutating func grow() { rebuild(slotCount: slots.count &* 2) }
    private mutating func shrink() { rebuild(slotCount: slots.count / 2) }

    private mutating func rebuild(slotCount: Int) {
        slots = [Slot](repeating: .empty, count: slotCount)
        let m = slotCount &- 1
        for (index, entry) in entries.enumerated() {
            var i = entry.key.digest & m
            while slots[i].entry >= 0 { i = (i &+ 1) & m }
            slots[i] = Slot(digest: entry.key.digest, entry: index)
        }
    }
}
