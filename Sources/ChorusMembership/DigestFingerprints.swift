/// A member table's `StateDigest` kept up to date as the table changes, so a digest sync
/// costs a fold of at most `PushPull.maxBuckets` words instead of a scan of every member.
///
/// The fingerprints are kept at one resolution, `count` buckets (0: none kept yet). A
/// digest of `c ≤ count` buckets is the fold of the kept one — bucket `b` of `c` is the XOR
/// of kept buckets `j` with `j mod c == b`, because a member's bucket is the low bits of
/// its name key either way — and equals a full recomputation exactly. Only coarser digests
/// can be folded; a finer one needs a scan of the table.
///
/// Invariant: when `count > 0`, `buckets[b]` is the XOR of `StateDigest.fingerprint` of every
/// member in the table whose bucket out of `count` is `b`; `count` is 0 or a power of two.
struct DigestFingerprints {
    private(set) var buckets: [UInt64] = []
    var count: Int { buckets.count }

    /// Starts over at `count` buckets (a power of two) from `entries`, (name key, fingerprint)
    /// pairs of every member.
    mutating func rebuild(count: Int, entries: some Sequence<(UInt64, UInt64)>) {
        precondition(count > 0 && count & (count - 1) == 0, "digest bucket count must be a power of two")
        buckets = [UInt64](repeating: 0, count: count)
        let mask = UInt64(count - 1)
        for (key, f) in entries { buckets[Int(truncatingIfNeeded: key & mask)] ^= f }
    }

    /// Adds or removes (XOR is its own inverse) one member version's fingerprint.
    @inline(__always)
    mutating func toggle(key: UInt64, fingerprint f: UInt64) {
        guard !buckets.isEmpty else { return }
        buckets[Int(truncatingIfNeeded: key & UInt64(buckets.count - 1))] ^= f
    }

    /// The digest in `c` buckets; `c` must be a power of two at most `count`.
    func folded(to c: Int) -> [UInt64] {
        precondition(c > 0 && c & (c - 1) == 0 && c <= count, "can only fold a digest to a coarser power of two")
        if c == count { return buckets }
        var out = [UInt64](repeating: 0, count: c)
        buckets.withUnsafeBufferPointer { kept in
            out.withUnsafeMutableBufferPointer { o in
                var j = 0
                while j < kept.count {
                    for b in 0..<c { o[b] ^= kept[j + b] }
                    j += c
                }
            }
        }
        return out
    }
}
