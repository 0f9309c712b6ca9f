/// A 64-bit hash of bytes that is the same in every process and on every machine (Swift's
/// `Hasher` is seeded per process): FNV-1a over the bytes, then a 64-bit finalising mix so
/// that keys differing only in their last byte still spread over all partitions.
/// Used for partition choice and state digests; not for anything an attacker must not steer.
public enum StableHash {
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}
