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
    /// one by one those misses serialise. Here one pass reads every name's home bucket and
    /// the next the records the buckets point at: within a pass the loads do not depend on
    /// each other, so the core overlaps their misses.
    func resolve(_ count: Int, name: (Int) -> String, into hints: UnsafeMutableBufferPointer<SlotHint>) {
        precondition(hints.count >= count, "lookahead buffer too small")
        let stamp = insertions
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * count) { scratch in
            // Hashing touches only the packet: done first, so the loops that miss are tight
            // enough for many iterations to be in flight at once.
            for k in 0..<count { scratch[k] = UInt64(index.hash(name(k))) }
            for k in 0..<count { scratch[count + k] = index.homeBucket(UInt32(truncatingIfNeeded: scratch[k])) }
            // The bucket lines are cached now: walk each probe path to its candidate slot.
            for k in 0..<count {
                let slot = index.firstCandidate(UInt32(truncatingIfNeeded: scratch[k]), home: scratch[count + k])
                hints[k] = SlotHint(slot: slot ?? SlotHint.absent, insertions: stamp)
            }
            // Then the candidates' records, which confirm the names.
            records.withUnsafeBufferPointer { r in
                for k in 0..<count where hints[k].slot >= 0 && r[Int(hints[k].slot)].name != name(k) {
                    // Two names share a hash: only a full walk of the probe path can tell.
                    let h = UInt32(truncatingIfNeeded: scratch[k])
                    hints[k].slot = index.find(name(k), hash: h) { r[Int($0)].name } ?? SlotHint.absent
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
