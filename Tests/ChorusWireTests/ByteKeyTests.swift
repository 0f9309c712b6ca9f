import Testing
@testable import ChorusWire

@Suite struct ByteKeyTests {
    @Test func equalBytes_equalKeysAndHashes_distinctBytes_distinctKeys() {
        let a = ByteKey(Array("bench-1".utf8)), b = ByteKey(Array("bench-1".utf8)), c = ByteKey(Array("bench-2".utf8))
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a != c)
        #expect(ByteKey([]) != ByteKey([0]))
        var map: [ByteKey: Int] = [:]
        for i in 0..<1_000 { map[ByteKey(Array("k\(i)".utf8))] = i }
        #expect(map.count == 1_000)
        #expect(map[ByteKey(Array("k517".utf8))] == 517)
    }

    @Test func fixedWidthIntegers_areBigEndian() {
        var w = ByteWriter(capacity: 14)
        w.u16(0x0102); w.u32(0x0304_0506); w.u64(0x0708_090A_0B0C_0D0E)
        #expect(w.bytes == Array(1...14))
    }
}
