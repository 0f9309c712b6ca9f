import Foundation
import ChorusBase
@testable import ChorusStorage

/// A fresh directory under the system temporary directory, removed after `body`.
@discardableResult
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("chorus-storage-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// Small segments so tests cross many rolls quickly.
let smallSegments = SegmentLogSettings(segmentBytes: 1024, maxRecordBytes: 64 << 10)

func payload(_ group: UInt64, _ index: UInt64, _ length: Int) -> [UInt8] {
    var rng = SeededRandom(seed: group &* 1_000_003 &+ index)
    return (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

func readFile(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
func writeFile(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Where a crash test keeps its log: in memory (every case, fast) or on disk (sampled cases,
/// real fsyncs).
enum Medium: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory, disk

    var description: String { rawValue }
    /// Disk cases step through offsets and bits this far apart; memory cases take them all.
    var stride: Int { self == .memory ? 1 : 13 }

    func run(_ body: (any FileSystem, String) throws -> Void) throws {
        switch self {
        case .memory: try body(MemoryFileSystem(), "/chorus/log")
        case .disk: try withTemporaryDirectory { dir in try body(PosixFileSystem(), dir) }
        }
    }
}

func readFile(_ fs: any FileSystem, _ path: String) throws -> [UInt8] {
    let file = try fs.openFile(at: path, mode: .existing)
    defer { file.close() }
    return try file.read(at: 0, count: try file.size())
}

/// Every file of a directory, by name.
func image(_ fs: any FileSystem, _ dir: String) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    for name in try fs.listDirectory(at: dir) { files[name] = try readFile(fs, dir + "/" + name) }
    return files
}

/// Replaces a directory's contents with `files`.
func restore(_ fs: any FileSystem, _ dir: String, _ files: [String: [UInt8]]) throws {
    for name in try fs.listDirectory(at: dir) { try fs.removeFile(at: dir + "/" + name) }
    for name in files.keys.sorted() {
        let file = try fs.openFile(at: dir + "/" + name, mode: .createNew)
        try file.write(files[name] ?? [], at: 0)
        file.close()
    }
}

/// Frame offsets of a segment file's records.
func frameOffsets(_ bytes: [UInt8]) -> [Int] {
    SegmentWalk(bytes, from: SegmentHeader.bytes, maxRecordBytes: 1 << 30).frames.map(\.offset)
}

/// Every live entry of every group, for comparing logs.
func contents(_ log: SegmentLog) throws -> [UInt64: [LogEntry]] {
    var out: [UInt64: [LogEntry]] = [:]
    for g in log.groups {
        out[g] = try log.entries(group: g, from: log.firstIndex(group: g), to: log.lastIndex(group: g) + 1)
    }
    return out
}

/// A `FileSystem` over the real one that counts fsyncs and can fail the n-th file fsync.
final class CountingFileSystem: FileSystem {
    let base: any FileSystem
    init(_ base: any FileSystem = PosixFileSystem()) { self.base = base }
    var fileSyncs = 0
    var directorySyncs = 0
    var writes = 0
    /// The most bytes one `write` wrote and one `read` asked for.
    var largestWrite = 0
    var largestRead = 0
    /// When set, the file fsync with this 1-based number fails with EIO.
    var failFileSync: Int?

    func createDirectory(at path: String) throws(StorageError) -> Bool { try base.createDirectory(at: path) }
    func listDirectory(at path: String) throws(StorageError) -> [String] { try base.listDirectory(at: path) }
    func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        CountingFile(try base.openFile(at: path, mode: mode), owner: self)
    }
    func removeFile(at path: String) throws(StorageError) { try base.removeFile(at: path) }
    func renameFile(at path: String, to newPath: String) throws(StorageError) { try base.renameFile(at: path, to: newPath) }
    func syncDirectory(at path: String) throws(StorageError) { directorySyncs += 1; try base.syncDirectory(at: path) }
}

final class CountingFile: StorageFile {
    let inner: any StorageFile
    unowned let owner: CountingFileSystem
    init(_ inner: any StorageFile, owner: CountingFileSystem) { self.inner = inner; self.owner = owner }
    var path: String { inner.path }
    func size() throws(StorageError) -> Int { try inner.size() }
    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        owner.largestRead = max(owner.largestRead, count)
        return try inner.read(at: offset, count: count)
    }
    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        owner.writes += 1
        owner.largestWrite = max(owner.largestWrite, bytes.count)
        try inner.write(bytes, at: offset)
    }
    func sync() throws(StorageError) {
        owner.fileSyncs += 1
        if owner.failFileSync == owner.fileSyncs { throw .io(operation: "fsync", path: path, errno: 5) }
        try inner.sync()
    }
    func truncate(to size: Int) throws(StorageError) { try inner.truncate(to: size) }
    func close() { inner.close() }
}
