/// Maps member names to table slots: open addressing with linear probing over one array of
/// 8-byte buckets (32-bit hash, slot + 1), about 12 bytes per member where a `Dictionary`
/// of `String` keys takes about 40, and hashed with FNV-1a instead of SipHash: the member
/// tables of large simulated clusters are dominated by these lookups.
///
/// The hash is keyed by a per-node random seed (from the injected generator) so a peer
/// cannot precompute colliding names. Deletion shifts later entries back, so no tombstones
/// accumulate. Invariant: every used bucket is reachable from its home bucket without
/// crossing an empty one; `count <= capacity · 7/8`.
struct NameIndex {
    private var buckets: [UInt64]
    private var mask: Int
    private(set) var count = 0
    var capacity: Int { buckets.count }
    private let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        buckets = Array(repeating: 0, count: 16)
        mask = 15
    }

    @inline(__always)
    func hash(_ name: String) -> UInt32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        var copy = name
        copy.withUTF8 { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        h ^= h >> 29
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always) static func pack(_ hash: UInt32, _ slot: Int32) -> UInt64 { UInt64(hash) << 32 | UInt64(UInt32(slot + 1)) }
    @inline(__always) static func slot(_ b: UInt64) -> Int32 { Int32(UInt32(truncatingIfNeeded: b)) - 1 }
    @inline(__always) static func hashOf(_ b: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: b >> 32) }

    /// The slot holding `name`; `nameAt` reads the name stored in a slot.
    func find(_ name: String, nameAt: (Int32) -> String) -> Int32? {
        find(name, hash: hash(name), nameAt: nameAt)
    }

    /// `find` with the name's `hash` already computed.
    func find(_ name: String, hash h: UInt32, nameAt: (Int32) -> String) -> Int32? {
        var i = Int(h) & mask
        while true {
            let b = buckets[i]
            if b == 0 { return nil }
            if NameIndex.hashOf(b) == h {
                let s = NameIndex.slot(b)
                if nameAt(s) == name { return s }
            }
            i = (i + 1) & mask
        }
    }

    /// The bucket a lookup of `hash` reads first (reading it early brings its cache line in).
    @inline(__always) func homeBucket(_ hash: UInt32) -> UInt64 { buckets[Int(hash) & mask] }

    /// The first slot on `hash`'s probe path whose entry has that hash, or nil when the path
    /// ends first (then no name with this hash is present); `home` is `homeBucket(hash)`,
    /// read earlier. The name at that slot is the one looked for unless two names share
    /// the 32-bit hash.
    @inline(__always) func firstCandidate(_ hash: UInt32, home: UInt64) -> Int32? {
        var i = Int(hash) & mask
        var b = home
        while true {
            if b == 0 { return nil }
            if NameIndex.hashOf(b) == hash { return NameIndex.slot(b) }
            i = (i + 1) & mask
            b = buckets[i]
        }
    }

    /// Adds `name` at `slot`; the name must not be present.
    mutating func insert(_ name: String, slot: Int32) {
        if (count + 1) * 8 > buckets.count * 7 { grow() }
        place(NameIndex.pack(hash(name), slot))
        count += 1
    }

    private mutating func place(_ entry: UInt64) {
        var i = Int(NameIndex.hashOf(entry)) & mask
        while buckets[i] != 0 { i = (i + 1) & mask }
        buckets[i] = entry
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: 0, count: old.count * 2)
        mask = buckets.count - 1
        for b in old where b != 0 { place(b) }
    }

    /// Removes `name` (stored at `slot`), shifting back the entries that probed past it.
    mutating func remove(_ name: String, slot: Int32) {
        let h = hash(name)
        var i = Int(h) & mask
        while true {
            let b = buckets[i]
            if b == 0 { return }
            if NameIndex.slot(b) == slot { break }
            i = (i + 1) & mask
        }
        buckets[i] = 0
        count -= 1
        var j = (i + 1) & mask
        while buckets[j] != 0 {
            let home = Int(NameIndex.hashOf(buckets[j])) & mask
            // Move back when the hole lies cyclically between the entry's home and its place.
            let holeBeforeEntry = (j - home) & mask >= (j - i) & mask
            if holeBeforeEntry {
                buckets[i] = buckets[j]
                buckets[j] = 0
                i = j
            }
            j = (j + 1) & mask
        }
    }

    mutating func reserve(_ n: Int) {
        while n * 8 > buckets.count * 7 { grow() }
    }
}
