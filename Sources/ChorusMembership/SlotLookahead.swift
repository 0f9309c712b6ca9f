/// What a lookup done ahead of time found about one name: its slot, that it was absent, or
/// nothing (no lookup was done). `MemberTable.slot(of:hint:)` trusts it only while it
/// still holds, so a hint never changes an answer, only how fast it comes.
struct SlotHint {
    /// The slot found, `absent`, or `unknown`.
    var slot: Int32
    /// The table's `insertions` when the lookup was done: an absent name stays absent
    /// until the next insertion.
    var insertions: UInt64

    static let absent: Int32 = -1
    static let unknown = SlotHint(slot: -2, insertions: 0)
}

extension MemberTable {
    /// Names looked up per batch: enough to overlap the misses the out-of-order core can
    /// keep in flight, few enough that what was read is still cached when it is used.
    static let lookaheadWidth = 32

    /// Looks up `count` names (`name(k)` for k in 0..<count) at once, writing a hint for
    /// each to `hints`.
    ///
    /// Same answers as `slot(of:)` name by name, but in large tables nearly every lookup
    /// misses the cache twice (the index bucket, then the record holding the name), and
    /// one by one those misses serialise. Here the first pass only hashes and reads each
    /// name's home bucket, and the second reads the records the buckets point at: within a
    /// pass the loads do not depend on each other, so the core overlaps their misses.
    func resolve(_ count: Int, name: (Int) -> String, into hints: UnsafeMutableBufferPointer<SlotHint>) {
        precondition(hints.count >= count, "lookahead buffer too small")
        let stamp = insertions
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * count) { scratch in
            // Pass 1: hashes and home buckets.
            for k in 0..<count {
                let h = index.hash(name(k))
                scratch[k] = UInt64(h)
                scratch[count + k] = index.homeBucket(h)
            }
            // Pass 2: the records the home buckets point at.
            records.withUnsafeBufferPointer { r in
                for k in 0..<count {
                    let h = UInt32(truncatingIfNeeded: scratch[k])
                    let home = scratch[count + k]
                    let slot: Int32?
                    if home == 0 {
                        slot = nil
                    } else if NameIndex.hashOf(home) == h, r[Int(NameIndex.slot(home))].name == name(k) {
                        slot = NameIndex.slot(home)
                    } else {
                        slot = index.find(name(k), hash: h) { r[Int($0)].name }
                    }
                    hints[k] = SlotHint(slot: slot ?? SlotHint.absent, insertions: stamp)
                }
            }
        }
    }

    /// The slot of `name`, exactly as `slot(of:)` gives it, taking `hint`'s word while it
    /// still holds.
    @inline(__always)
    func slot(of name: String, hint: SlotHint) -> Int32? {
        if hint.slot >= 0 {
            if Int(hint.slot) < records.count && records[Int(hint.slot)].name == name { return hint.slot }
        } else if hint.slot == SlotHint.absent && hint.insertions == insertions {
            return nil
        }
        return slot(of: name)
    }
}
