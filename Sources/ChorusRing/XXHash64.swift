/// xxHash64 (Yann Collet, 2014; specification in the xxHash repository, `doc/xxhash_spec.md`):
/// a fast non-cryptographic 64-bit hash that passes SMHasher. Chorus uses it for every
/// position on the ring (virtual nodes, keys, shards), so the ring is reproducible anywhere.
///
/// Invariant: the output is a pure function of the bytes and the seed, identical to the
/// reference implementation (the test vectors in `HashTests` pin that), independent of
/// process, platform byte order and Swift's per-process hash seed. It is not cryptography:
/// anyone can pick names that collide, which costs balance, never correctness (ties on the
/// ring are broken by name).
public enum XXHash64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The hash of `bytes` under `seed`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var p = 0
        var h: UInt64
        if count >= 32 {
            // Four lanes, each absorbing one 8-byte word of every 32-byte stripe.
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while p + 32 <= count {
                v1 = round(v1, word64(bytes, p))
                v2 = round(v2, word64(bytes, p + 8))
                v3 = round(v3, word64(bytes, p + 16))
                v4 = round(v4, word64(bytes, p + 24))
                p += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1)
            h = merge(h, v2)
            h = merge(h, v3)
            h = merge(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(count)
        while p + 8 <= count {
            h ^= round(0, word64(bytes, p))
            h = rotl(h, 27) &* prime1 &+ prime4
            p += 8
        }
        if p + 4 <= count {
            h ^= UInt64(word32(bytes, p)) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            p += 4
        }
        while p < count {
            h ^= UInt64(bytes[p]) &* prime5
            h = rotl(h, 11) &* prime1
            p += 1
        }
        return avalanche(h)
    }

    /// The hash of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The hash of a string's UTF-8 bytes (no terminator, no normalization: "é" written as
    /// one scalar and as "e" + combining accent are different inputs).
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        // `withUTF8` reaches the bytes of native and small (inline) strings without copying
        // them to the heap; only a bridged string is made contiguous first.
        var text = string
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(acc &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always) static func merge(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        (acc ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inline(__always) static func avalanche(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }

    /// Little-endian loads whatever the host byte order, so every platform agrees.
    @inline(__always) static func word64(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always) static func word32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
}
