import ChorusBase

/// A running 128-bit fingerprint of a simulation's event trace, printed so anyone can check
/// that the same seed replayed the same run.
///
/// Invariant: the digest is a pure function of the sequence of values mixed in: no hash seed,
/// address or clock enters it, so it is equal across processes and machines. Each lane applies
/// a different bijective 64-bit mixer after folding the input in, so the order of inputs
/// matters and two distinct words never collide within one step. Not cryptographic: a
/// fingerprint against accidents, not against an adversary.
public struct TraceDigest: Hashable, Sendable, CustomStringConvertible {
    @usableFromInline var lane0: UInt64 = 0x6A09_E667_F3BC_C908  // √2's fraction (SHA-2 IV word)
    @usableFromInline var lane1: UInt64 = 0xBB67_AE85_84CA_A73B  // √3's fraction
    @usableFromInline var words: UInt64 = 0

    /// Words mixed in so far.
    @inlinable public var count: UInt64 { words }

    public init() {}

    /// Folds one 64-bit word in.
    @inlinable
    public mutating func mix(_ word: UInt64) {
        lane0 = TraceDigest.murmurFinal(lane0 ^ word)
        lane1 = TraceDigest.splitMixFinal(lane1 &+ (word ^ 0x9E37_79B9_7F4A_7C15)) ^ (lane0 >> 29)
        words &+= 1
    }

    @inlinable public mutating func mix(_ value: Int) { mix(UInt64(bitPattern: Int64(value))) }
    @inlinable public mutating func mix(_ value: Int64) { mix(UInt64(bitPattern: value)) }
    @inlinable public mutating func mix(_ value: Int32) { mix(UInt64(UInt32(bitPattern: value))) }
    @inlinable public mutating func mix(_ value: Bool) { mix(value ? 1 as UInt64 : 0) }
    @inlinable public mutating func mix(_ value: Double) { mix(value.bitPattern) }
    @inlinable public mutating func mix(_ instant: Instant) { mix(instant.nanoseconds) }
    @inlinable public mutating func mix(_ node: SimNodeID) { mix(node.rawValue) }

    /// Folds a string's UTF-8 bytes in, length first (so "ab","c" differs from "a","bc").
    public mutating func mix(_ text: String) {
        var contiguous = text  // withUTF8 may need to make the storage contiguous
        contiguous.withUTF8 { bytes in
            mix(UInt64(bytes.count))
            mixBytes(bytes)
        }
    }

    private mutating func mixBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        var word: UInt64 = 0
        var filled: UInt64 = 0
        for byte in bytes {
            word |= UInt64(byte) << (8 * filled)
            filled += 1
            if filled == 8 {
                mix(word)
                word = 0
                filled = 0
            }
        }
        if filled > 0 { mix(word) }
    }

    /// 32 lowercase hex digits: lane 0 then lane 1.
    public var hex: String { TraceDigest.hex16(lane0) + TraceDigest.hex16(lane1) }
    public var description: String { hex }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// MurmurHash3's 64-bit finaliser (bijective).
    @inlinable static func murmurFinal(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    /// SplitMix64's finaliser (bijective, different constants from the Murmur one).
    @inlinable static func splitMixFinal(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
