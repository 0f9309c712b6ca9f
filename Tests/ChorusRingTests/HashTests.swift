import Testing
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
