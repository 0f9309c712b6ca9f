import Foundation
import Testing
@testable import ChorusCLI
import ChorusRuntime

/// `chorus snapshot save|restore` on real files: a saved directory restores byte for byte; a
/// directory an agent holds, an existing archive, a non-empty target, a damaged archive and a
/// restore without --whole-cluster are refused, and a refused restore writes nothing.
@Suite struct DataDirectorySnapshotTests {
    final class Scratch {
        let path = NSTemporaryDirectory() + "chorus-snapshot-\(UInt32.random(in: 0 ... .max))"
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static let files: [String: String] = [
        "node.json": #"{"incarnation":4,"name":"node2"}"#,
        "shards/log/00000000000000000001.seg": String(repeating: "segment bytes ", count: 500),
        "shards/bodies/q/0/00000000000000000001.body": "a queue body",
        "shards/empty": "",
    ]

    static func makeDirectory(_ root: String) throws {
        for (path, text) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
    }

    static func contents(_ root: String) throws -> [String: String] {
        var found: [String: String] = [:]
        for path in try DataDirectorySnapshot.regularFiles(under: root) {
            found[path] = String(decoding: FileManager.default.contents(atPath: root + "/" + path) ?? Data(), as: UTF8.self)
        }
        return found
    }

    @Test func saveThenRestore_intoANewDirectory_givesBackEveryFile() throws {
        let s = Scratch()
        try Self.makeDirectory(s.path + "/data")
        let saved = try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/node2.archive", savedAtMillis: 1)
        #expect(saved.files == Self.files.count)
        #expect(saved.nodeName == "node2")
        #expect(!FileManager.default.fileExists(atPath: s.path + "/node2.archive.tmp"))
        let restored = try DataDirectorySnapshot.restore(archive: s.path + "/node2.archive", into: s.path + "/new/data")
        #expect(restored == saved)
        #expect(try Self.contents(s.path + "/new/data") == Self.files)
    }

    @Test func save_whileAnAgentHoldsTheDirectory_isRefused() throws {
        let s = Scratch()
        try Self.makeDirectory(s.path + "/data")
        let held = try DataDirectoryLock(directory: s.path + "/data")
        #expect(throws: CommandFailure.self) {
            try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        }
        #expect(!FileManager.default.fileExists(atPath: s.path + "/a"))
        held.release()
        // An archive inside the directory would be archived by the next save.
        #expect(throws: CommandFailure.self) {
            try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/data/shards/a", savedAtMillis: 1)
        }
        _ = try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        // The archive is never overwritten.
        #expect(throws: CommandFailure.self) {
            try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        }
    }

    @Test func restore_intoANonEmptyDirectory_isRefusedAndTouchesNothing() throws {
        let s = Scratch()
        try Self.makeDirectory(s.path + "/data")
        _ = try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        try FileManager.default.createDirectory(atPath: s.path + "/target", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: s.path + "/target/other"))
        #expect(throws: CommandFailure.self) { try DataDirectorySnapshot.restore(archive: s.path + "/a", into: s.path + "/target") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path + "/target") == ["other"])
    }

    @Test func restore_ofADamagedArchive_writesNothing() throws {
        let s = Scratch()
        try Self.makeDirectory(s.path + "/data")
        _ = try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        var bytes = try #require(FileManager.default.contents(atPath: s.path + "/a"))
        bytes[bytes.count - 3] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: s.path + "/damaged"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: s.path + "/truncated"))
        for name in ["damaged", "truncated"] {
            #expect(throws: CommandFailure.self) { try DataDirectorySnapshot.restore(archive: s.path + "/" + name, into: s.path + "/t-" + name) }
            #expect(!FileManager.default.fileExists(atPath: s.path + "/t-" + name))
        }
    }

    /// Files larger than the 1 MiB pieces save and restore read and write.
    @Test func aFileOfSeveralPieces_roundTrips_andOneFlippedByteInItsMiddleIsRefused() throws {
        let s = Scratch()
        let big = (0..<(5 << 19) + 123).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        try FileManager.default.createDirectory(atPath: s.path + "/data/shards/snap", withIntermediateDirectories: true)
        try Data(big).write(to: URL(fileURLWithPath: s.path + "/data/shards/snap/group-00000000000000000001.snap"))
        let saved = try DataDirectorySnapshot.save(dataDirectory: s.path + "/data", to: s.path + "/a", savedAtMillis: 1)
        #expect(saved.bytes == UInt64(big.count))
        _ = try DataDirectorySnapshot.restore(archive: s.path + "/a", into: s.path + "/r")
        #expect(FileManager.default.contents(atPath: s.path + "/r/shards/snap/group-00000000000000000001.snap") == Data(big))

        var bytes = try #require(FileManager.default.contents(atPath: s.path + "/a"))
        bytes[bytes.count - big.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: s.path + "/damaged"))
        #expect(throws: CommandFailure.self) { try DataDirectorySnapshot.restore(archive: s.path + "/damaged", into: s.path + "/t") }
        #expect(!FileManager.default.fileExists(atPath: s.path + "/t"))
    }

    @Test func restoreCommand_withoutWholeCluster_isAUsageError() throws {
        #expect(throws: UsageError.self) { try SnapshotCommand.runRestore(["--in", "/nonexistent", "--data-dir", "/nonexistent-dir"]) }
    }
}
