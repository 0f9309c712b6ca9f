import Glibc
import Testing
@testable import ChorusStorage

/// Snapshot files larger than a frame: written and read one checksummed chunk at a time,
/// and every kind of damage to them named as a corrupt snapshot.
@Suite struct ChunkedSnapshotTests {
    static let frameBytes = 16 << 20

    /// `count` bytes that differ from chunk to chunk, made fast (a debug build fills 40 MiB
    /// byte by byte in tens of seconds).
    static func patterned(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0x5A, count: count)
        for i in stride(from: 0, to: count, by: 4093) { bytes[i] = UInt8(truncatingIfNeeded: i / 4093) }
        return bytes
    }

    @Test func aSnapshotOf20MiB_isWrittenAndReadInChunksBelowAFrame_andSurvivesReopening() throws {
        try withTemporaryDirectory { dir in
            let fs = CountingFileSystem(PosixFileSystem())
            let data = Self.patterned(20 << 20)
            let store = try SnapshotStore(directory: dir + "/snap", fileSystem: fs)
            try store.save(group: 7, index: 900, term: 3, parts: [[1, 2, 3], data])
            #expect(fs.largestWrite <= SnapshotFile.defaultChunkBytes + 4, "no write of the whole image")
            #expect(fs.largestWrite < Self.frameBytes)
            #expect(fs.fileSyncs == 1 && fs.directorySyncs >= 1)

            let reopened = try SnapshotStore(directory: dir + "/snap", fileSystem: fs)
            fs.largestRead = 0
            let loaded = try #require(try reopened.load(group: 7))
            #expect(fs.largestRead <= SnapshotFile.defaultChunkBytes + 4, "no read of the whole file")
            #expect(loaded.index == 900 && loaded.term == 3)
            #expect(loaded.data.count == 3 + data.count)
            #expect(loaded.data.prefix(3) == [1, 2, 3])
            let same = loaded.data.withUnsafeBytes { l in data.withUnsafeBytes { d in memcmp(l.baseAddress! + 3, d.baseAddress!, d.count) == 0 } }
            #expect(same)
        }
    }

    @Test(arguments: [1, 7, 64, 1 << 20])
    func parts_areJoinedAcrossChunkBoundaries(chunkBytes: Int) throws {
        let fs = MemoryFileSystem()
        let store = try SnapshotStore(directory: "/snap", fileSystem: fs, chunkBytes: chunkBytes)
        let parts: [[UInt8]] = [payload(1, 1, 5), [], payload(1, 2, 300), payload(1, 3, 1)]
        try store.save(group: 1, index: 4, term: 2, parts: parts)
        #expect(try store.load(group: 1) == Snapshot(group: 1, index: 4, term: 2, data: parts.flatMap { $0 }))
        try store.save(group: 1, index: 5, term: 2, parts: [])
        #expect(try store.load(group: 1) == Snapshot(group: 1, index: 5, term: 2, data: []))
    }

    @Test func everyTruncationAndEveryBitFlip_ofAChunkedFile_isCorruptSnapshot() throws {
        let fs = MemoryFileSystem()
        let store = try SnapshotStore(directory: "/snap", fileSystem: fs, chunkBytes: 16)
        let good = SnapshotFile.encode(Snapshot(group: 1, index: 10, term: 2, data: payload(1, 10, 50)), chunkBytes: 16)
        #expect(good.count == SnapshotFile.headerBytesV2 + 50 + 4 * 4 + 4)
        var variants: [(String, [UInt8])] = (0..<good.count).map { ("first \($0) bytes", Array(good.prefix($0))) }
        variants.append(("one byte more", good + [0]))
        for bit in 0..<good.count * 8 {
            var flipped = good
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            variants.append(("bit \(bit)", flipped))
        }
        for (name, bytes) in variants {
            fs.setContents(of: "/snap/" + SnapshotStore.name(1), to: bytes)
            #expect("\(name)") { try store.load(group: 1) } throws: { error in
                if case .corruptSnapshot = error as? StorageError { return true }
                return false
            }
        }
    }

    @Test func aDamagedChunk_isNamed_andATruncatedFileSaysSo() throws {
        let fs = MemoryFileSystem()
        let store = try SnapshotStore(directory: "/snap", fileSystem: fs, chunkBytes: 16)
        let good = SnapshotFile.encode(Snapshot(group: 1, index: 10, term: 2, data: payload(1, 10, 50)), chunkBytes: 16)
        let path = "/snap/" + SnapshotStore.name(1)
        var damaged = good
        damaged[SnapshotFile.headerBytesV2 + 2 * 20 + 3] ^= 0x10 // inside the third chunk
        fs.setContents(of: path, to: damaged)
        #expect(throws: StorageError.corruptSnapshot(file: SnapshotStore.name(1), reason: "chunk 2 at offset 88: checksum mismatch")) {
            try store.load(group: 1)
        }
        fs.setContents(of: path, to: Array(good.dropLast(30)))
        #expect(throws: StorageError.corruptSnapshot(file: SnapshotStore.name(1), reason: "\(good.count - 30) bytes where the header accounts for \(good.count) (truncated)")) {
            try store.load(group: 1)
        }
    }

    @Test func aVersion1File_isStillRead_andReplacedByVersion2() throws {
        let fs = MemoryFileSystem()
        let store = try SnapshotStore(directory: "/snap", fileSystem: fs)
        let old = Snapshot(group: 3, index: 8, term: 1, data: payload(3, 8, 1000))
        fs.setContents(of: "/snap/" + SnapshotStore.name(3), to: SnapshotFile.encodeV1(old))
        #expect(try store.load(group: 3) == old)
        #expect(throws: StorageError.staleSnapshot(group: 3, index: 7, storedIndex: 8)) {
            try store.save(Snapshot(group: 3, index: 7, term: 1, data: []))
        }
        let new = Snapshot(group: 3, index: 9, term: 1, data: [4])
        try store.save(new)
        #expect(fs.contents(of: "/snap/" + SnapshotStore.name(3))?[5] == 2, "version 2 on disk")
        #expect(try store.load(group: 3) == new)
    }

    @Test func aChunkSizeOutsideItsBounds_isRefused() {
        for bad in [0, SnapshotFile.maxChunkBytes + 1] {
            #expect(throws: StorageError.self) { try SnapshotStore(directory: "/snap", fileSystem: MemoryFileSystem(), chunkBytes: bad) }
        }
    }
}
