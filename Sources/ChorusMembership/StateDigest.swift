/// Fingerprints of a member table for digest syncs (Merkle-style anti-entropy, one level).
///
/// A member falls in bucket `h mod count`, where `h` is an *unseeded* FNV-1a hash of its
/// name (every node must agree on buckets), and a live (alive or suspect) member contributes
/// a 64-bit fingerprint of (name, incarnation, status); a bucket's value is the XOR of its
/// members'. Two tables agree on a bucket ⇔ (barring a 2⁻⁶⁴ collision) they hold the same
/// versions of the same live members there. Tombstones contribute nothing: a node that
/// forgot a dead member and one that still holds it agree, so tombstones never make syncs
/// differ (one side holding the member live and the other dead still differ).
/// Invariant: `count` is a power of two, at most `PushPull.maxBuckets`.
public enum StateDigest {
    @inline(__always)
    static func hash(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var copy = name
        copy.withUTF8 { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        return h
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func bucket(of name: String, count: Int) -> Int {
        Int(truncatingIfNeeded: mix(hash(name)) & UInt64(count - 1))
    }

    /// The bucket and fingerprint of one member version.
    public static func fingerprint(name: String, incarnation: Incarnation, status: MemberStatus, count: Int) -> (Int, UInt64) {
        let h = nameKey(name)
        return (Int(truncatingIfNeeded: h & UInt64(count - 1)), fingerprint(key: h, incarnation: incarnation, status: status))
    }

    /// What a name contributes to its bucket (the low bits) and fingerprints.
    @inline(__always)
    static func nameKey(_ name: String) -> UInt64 { mix(hash(name)) }

    /// The fingerprint of a member version whose name has `key` (`nameKey`); 0 (nothing)
    /// for a tombstone.
    @inline(__always)
    static func fingerprint(key: UInt64, incarnation: Incarnation, status: MemberStatus) -> UInt64 {
        guard status.isLive else { return 0 }
        return mix(key ^ (UInt64(incarnation) << 2 | UInt64(status.rawValue)) &* 0xD6E8_FEB8_6659_FD93)
    }
}
