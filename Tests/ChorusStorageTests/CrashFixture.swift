import Testing
import ChorusBase
@testable import ChorusStorage

/// A log of three groups over many 1 KiB segments whose last segment ends with two entry
/// records, each written by its own sync; the directory image is kept so each case can cut or
/// damage a copy of it.
struct CrashFixture {
    var files: [String: [UInt8]]
    var lastName: String
    var offsets: [Int]
    var expected: [UInt64: [LogEntry]]
    /// (group, index) of the second-to-last and the last record.
    var lastTwo: [(group: UInt64, index: UInt64)]

    var last: [UInt8] { files[lastName] ?? [] }
    var secondToLastOffset: Int { offsets[offsets.count - 2] }
    var lastOffset: Int { offsets[offsets.count - 1] }

    let fileSystem: any FileSystem
    let directory: String

    init(_ fs: any FileSystem, _ dir: String) throws {
        fileSystem = fs
        directory = dir
        let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
        var rng = SeededRandom(seed: 7)
        for i: UInt64 in 1...40 {
            for g: UInt64 in 1...3 { try log.append(group: g, index: i, term: 1, payload: payload(g, i, 20 + rng.below(40))) }
            try log.setHardState(HardState(term: 1, vote: 1, commit: i - 1), group: 1)
            if i % 5 == 0 { try log.sync() }
        }
        try log.sync()
        lastTwo = []
        for g: UInt64 in [1, 2] {
            let i = log.lastIndex(group: g) + 1
            try log.append(group: g, index: i, term: 2, payload: payload(g, i, 30))
            try log.sync()
            lastTwo.append((g, i))
        }
        expected = try contents(log)
        let checkpoints = log.active.checkpointCount
        log.close()
        files = try image(fs, dir)
        let lastName = files.keys.filter { $0.hasSuffix(".seg") }.max() ?? ""
        self.lastName = lastName
        offsets = frameOffsets(files[lastName] ?? [])
        try #require(offsets.count >= checkpoints + 2, "the last two records must follow the checkpoints")
        try #require(files.count > 5)
    }

    /// The expected contents once the last `dropped` records are gone.
    func expected(dropping dropped: Int) -> [UInt64: [LogEntry]] {
        var e = expected
        for (g, i) in lastTwo.suffix(dropped) { e[g]?.removeAll { $0.index == i } }
        return e
    }

    /// Restores the image with the last segment replaced by `bytes`.
    func restore(lastSegment bytes: [UInt8]) throws {
        var f = files
        f[lastName] = bytes
        try ChorusStorageTests.restore(fileSystem, directory, f)
    }

    func restore(_ f: [String: [UInt8]]) throws { try ChorusStorageTests.restore(fileSystem, directory, f) }

    func open() throws -> SegmentLog { try SegmentLog(directory: directory, settings: smallSegments, fileSystem: fileSystem) }

    func read(_ name: String) throws -> [UInt8] { try readFile(fileSystem, directory + "/" + name) }

    var segmentNames: [String] { files.keys.filter { $0.hasSuffix(".seg") }.sorted() }
}
