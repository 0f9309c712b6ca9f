import Testing
import ChorusWire
@testable import ChorusStorage

/// The data-directory archive of `chorus snapshot`: a round trip keeps every file, and every
/// kind of damage (truncation, a flipped bit, another version, trailing bytes, unsafe paths)
/// is refused as a whole, with a reason, before anything could be written.
@Suite struct DataDirectoryArchiveTests {
    static let files: [(path: String, bytes: [UInt8])] = [
        ("node.json", Array(#"{"incarnation":3,"name":"node1"}"#.utf8)),
        ("shards/log/00000000000000000001.seg", (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }),
        ("shards/snap/group-00000000000000000004.snap", Array(repeating: 0xAB, count: 300)),
        ("shards/empty", []),
    ]

    static func archive() -> [UInt8] {
        DataDirectoryArchive.encode(files, nodeName: "node1", raftID: 0xfeed, savedAtMillis: 1_800_000_000_000)
    }

    static func reason(_ bytes: [UInt8]) -> String? {
        if case let .failure(f) = DataDirectoryArchive.decode(bytes) { return f.reason }
        return nil
    }

    @Test func roundTrip_keepsEveryFileAndTheManifest() throws {
        let bytes = Self.archive()
        let contents = try DataDirectoryArchive.decode(bytes).get()
        #expect(contents.manifest.nodeName == "node1")
        #expect(contents.manifest.raftID == 0xfeed)
        #expect(contents.manifest.savedAtMillis == 1_800_000_000_000)
        let restored = zip(contents.manifest.entries, contents.bodies).map { ($0.path, Array(bytes[$1])) }
        let sorted = Self.files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        #expect(restored.map(\.0) == sorted.map(\.path))
        #expect(restored.map(\.1) == sorted.map(\.bytes))
        #expect(contents.manifest.totalBytes == UInt64(Self.files.reduce(0) { $0 + $1.bytes.count }))
    }

    @Test func anEmptyDirectory_roundTrips() throws {
        let contents = try DataDirectoryArchive.decode(DataDirectoryArchive.encode([])).get()
        #expect(contents.manifest.entries.isEmpty)
    }

    @Test func everyTruncation_isRefused() {
        let bytes = Self.archive()
        for length in 0..<bytes.count {
            #expect(Self.reason(Array(bytes[0..<length])) != nil, "a prefix of \(length) of \(bytes.count) bytes was accepted")
        }
    }

    @Test func trailingBytes_areRefused() {
        #expect(Self.reason(Self.archive() + [0]) == "1 bytes after the last file")
    }

    @Test func everySingleBitFlip_isRefused() {
        let bytes = Self.archive()
        // Every bit of the header and manifest, then a stride through the bodies.
        let head = DataDirectoryArchive.encodeHead(try! DataDirectoryArchive.decode(bytes).get().manifest).count
        let offsets = Array(0..<head) + Array(stride(from: head, to: bytes.count, by: 17))
        for offset in offsets {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[offset] ^= UInt8(1 << bit)
                #expect(Self.reason(damaged) != nil, "a flip of bit \(bit) at \(offset) was accepted")
            }
        }
    }

    @Test func aFlippedBodyBit_namesTheFile() {
        var bytes = Self.archive()
        bytes[bytes.count - 1] ^= 1
        #expect(Self.reason(bytes)?.contains("checksum mismatch") == true)
    }

    @Test func anotherVersion_isRefusedByName() {
        var bytes = Self.archive()
        bytes[5] = 2
        // The version is checked before the manifest's CRC, so it is what the reason names.
        #expect(Self.reason(bytes) == "unsupported archive version 2 (this chorus reads version 1)")
        bytes[0] = UInt8(ascii: "X")
        #expect(Self.reason(bytes) == "not a Chorus data archive (bad magic)")
    }

    @Test(arguments: ["", "/etc/passwd", "../up", "a/../../b", "a//b", "./a", "a/", "a\u{0}b"])
    func anUnsafePath_isRefused(path: String) {
        #expect(ArchiveManifest(nodeName: "", raftID: 0, savedAtMillis: 0, entries: [.init(path: path, size: 0, crc: 0)]).validate() != nil)
    }

    @Test func aPathThatIsAlsoADirectory_orRepeated_isRefused() {
        let e = { (p: String) in ArchiveManifest.Entry(path: p, size: 0, crc: 0) }
        #expect(ArchiveManifest(nodeName: "", raftID: 0, savedAtMillis: 0, entries: [e("a"), e("a-b"), e("a/b")]).validate() != nil)
        #expect(ArchiveManifest(nodeName: "", raftID: 0, savedAtMillis: 0, entries: [e("a"), e("a")]).validate() != nil)
        #expect(ArchiveManifest(nodeName: "", raftID: 0, savedAtMillis: 0, entries: [e("b"), e("a")]).validate() != nil)
    }

    /// A hand-made manifest that passes its CRC but claims an unsafe path or a huge size is
    /// still refused (the decoder trusts nothing the CRC merely vouches for).
    @Test func aManifestWithAValidCRC_butAnEscapingPathOrHugeSize_isRefused() {
        func archive(path: String, size: UInt64) -> [UInt8] {
            var m = ByteWriter()
            m.u64(0); m.u64(0); m.string(""); m.varint(1); m.string(path); m.u64(size); m.u32(0)
            var w = ByteWriter()
            w.raw(Array("CHAR".utf8)); w.u16(1); w.u16(0); w.u32(UInt32(m.count)); w.raw(m.bytes)
            w.u32(CRC32C.checksum(w.bytes))
            return w.bytes
        }
        #expect(Self.reason(archive(path: "../x", size: 0))?.hasPrefix("bad manifest") == true)
        #expect(Self.reason(archive(path: "x", size: .max))?.hasPrefix("truncated") == true)
    }
}
