import Testing
import ChorusBase
@testable import ChorusWire

@Suite struct ByteCodecTests {
    @Test func crc32cMatchesCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // Slicing-by-8 and byte-at-a-time paths agree across lengths.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for n in 0..<data.count {
            let whole = CRC32C.checksum(Array(data[0..<n]))
            var bytewise: UInt32 = 0
            for b in data[0..<n] { bytewise = [b].withUnsafeBytes { CRC32C.update(bytewise, $0) } }
            #expect(whole == bytewise)
        }
    }

    @Test func varintRoundTripsAndRefusesOverlong() throws {
        for v: UInt64 in [0, 1, 127, 128, 300, 1 << 32, UInt64.max] {
            var w = ByteWriter()
            w.varint(v)
            #expect(w.count == ByteWriter.varintSize(v))
            var r = ByteReader(w.bytes)
            #expect(try r.varint() == v)
            try r.expectEnd()
        }
        var r = ByteReader([UInt8](repeating: 0xFF, count: 11))
        #expect(throws: WireError.self) { try r.varint() }
    }

    @Test func truncatedReadsThrowInsteadOfTrapping() {
        var w = ByteWriter()
        w.u64(42); w.string("hello"); w.endpoint(Endpoint(parsing: "[::1]:7946")!)
        let bytes = w.bytes
        for cut in 0..<bytes.count {
            var r = ByteReader(Array(bytes[0..<cut]))
            #expect(throws: WireError.self) {
                _ = try r.u64(); _ = try r.string("s", limit: 100); _ = try r.endpoint()
            }
        }
    }

    @Test func endpointsParseAndPrint() {
        #expect(Endpoint(parsing: "127.0.0.1:7946")?.description == "127.0.0.1:7946")
        #expect(Endpoint(parsing: "[::1]:80")?.description == "[::1]:80")
        #expect(Endpoint(parsing: "localhost:80") == nil)
        #expect(Endpoint(parsing: "1.2.3.4") == nil)
        #expect(Endpoint(parsing: "1.2.3.4:99999") == nil)
    }

    @Test func framesAreBoundedBeforeBuffering() {
        let f = Frame.encode([1, 2, 3])
        #expect(Frame.parse(f) == .frame(payload: 4..<7, consumed: 7))
        #expect(Frame.parse(Array(f[0..<5])) == .needMore)
        #expect(Frame.parse([0xFF, 0xFF, 0xFF, 0xFF]) == .oversized(0xFFFF_FFFF))
    }
}
