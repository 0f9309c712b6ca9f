import Testing
import ChorusBase
@testable import ChorusRing

/// xxHash64 against the reference implementation's outputs (computed with the xxHash
/// library) and basic statistical quality for the inputs the ring actually hashes.
@Suite struct HashTests {
    @Test(arguments: [
        ("", UInt64(0), UInt64(0xEF46_DB37_51D8_E999)),
        ("1", 0, 0xB7B4_1276_3605_64D4),
        ("123", 0, 0x3C69_7D22_3FA7_E885),
        ("1234", 0, 0xD831_6E61_D84F_6BA4),
        ("12345678", 0, 0xD2D0_2F08_CF7C_FD4A),
        ("123456789ABCDEF", 0, 0xA66D_F83F_00E9_202D),
        ("123456789ABCDEF123456789ABCDEF12", 0, 0xC5B0_9BEB_B8CD_6667),
        ("123456789ABCDEF123456789ABCDEF123456789", 0, 0xC42D_1E34_8E67_1D65),
        ("", 1, 0xD5AF_BA13_36A3_BE4B),
        ("123456789", 0x7FFF_FFFF, 0x05D3_BBA7_3949_569E),
        ("123456789ABCDEF123456789ABCDEF123456789", 1, 0xC755_455A_0904_1192),
    ])
    func matchesReferenceVectors(input: String, seed: UInt64, expected: UInt64) {
        #expect(XXHash64.hash(input, seed: seed) == expected)
        #expect(XXHash64.hash(Array(input.utf8), seed: seed) == expected)
    }

    @Test func longInputCrossesManyStripes() {
        let bytes = [UInt8](repeating: 0xFF, count: 100 * 1024)
        #expect(XXHash64.hash(bytes) == 0x2F1B_B6AA_5D0C_ABCC)
        #expect(XXHash64.hash(bytes, seed: 1) == 0x7205_7334_8B58_0C1C)
    }
}

/// Distribution checks: the ring needs tokens spread evenly over all 64 bits for the inputs
/// it really hashes (short, similar names with small counters).
@Suite struct HashDistributionTests {
    /// Pearson's chi-square of `values` over 256 buckets taken from bits `shift..<shift+8`.
    static func chiSquare(_ values: [UInt64], shift: UInt64) -> Double {
        var buckets = [Int](repeating: 0, count: 256)
        for v in values { buckets[Int((v >> shift) & 0xFF)] += 1 }
        let expected = Double(values.count) / 256
        return buckets.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    // 255 degrees of freedom: mean 255, standard deviation 22.6; 350 is about 4.2 spreads.
    static let chiSquareLimit = 350.0

    @Test(arguments: [0, 28, 56])
    func sequentialKeysFillAllBuckets(shift: UInt64) {
        let values = (0..<100_000).map { Token(key: "key-\($0)").value }
        let chi = Self.chiSquare(values, shift: shift)
        #expect(chi < Self.chiSquareLimit, "chi-square \(chi)")
    }

    @Test(arguments: [0, 28, 56])
    func virtualNodeTokensFillAllBuckets(shift: UInt64) {
        var values: [UInt64] = []
        for name in RingFixtures.names(400) { Token.virtualNodes(of: name, count: 128, into: &values) }
        #expect(Set(values).count == values.count)
        let chi = Self.chiSquare(values, shift: shift)
        #expect(chi < Self.chiSquareLimit, "chi-square \(chi)")
    }

    /// Strict avalanche: flipping one input bit flips each output bit with probability 1/2.
    @Test func oneInputBitFlipsHalfTheOutputBits() {
        var rng = SeededRandom(seed: 3)
        var flips = [Int](repeating: 0, count: 64)
        var trials = 0
        for _ in 0..<200 {
            var bytes = (0..<12).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let base = XXHash64.hash(bytes)
            for bit in 0..<(bytes.count * 8) {
                bytes[bit / 8] ^= 1 << UInt8(bit % 8)
                let diff = base ^ XXHash64.hash(bytes)
                bytes[bit / 8] ^= 1 << UInt8(bit % 8)
                for o in 0..<64 where diff >> UInt64(o) & 1 == 1 { flips[o] += 1 }
                trials += 1
            }
        }
        for f in flips {
            let p = Double(f) / Double(trials)
            #expect(p > 0.46 && p < 0.54, "output bit flips with probability \(p)")
        }
    }
}
