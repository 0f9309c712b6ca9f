import ChorusRuntime
import ChorusShards
import ChorusStorage
import ChorusWire
import Foundation
import Glibc

/// Saving a stopped node's data directory into one `DataDirectoryArchive` file, and restoring
/// one into an empty directory.
///
/// Invariants: both hold the directory's `DataDirectoryLock` throughout, so neither runs on a
/// directory an agent uses (nor lets an agent start on it meanwhile). A save writes
/// `OUT.tmp`, fsyncs it, renames it to `OUT` and fsyncs `OUT`'s directory, so `OUT` is either
/// absent or complete; a file that changed between the two reads of a save fails it. A
/// restore verifies the whole archive (`verify`: head, manifest, every file's CRC) before it creates
/// anything, refuses a target that is not empty, and fsyncs every file and every directory it
/// wrote before it reports success. Files are read and written in 1 MiB pieces, so neither
/// holds more than a piece and the manifest in memory.
enum DataDirectorySnapshot {
    /// What a save or restore did.
    struct Summary: Equatable {
        var files: Int
        var bytes: UInt64
        var nodeName: String
        var raftID: UInt64
    }

    // MARK: save

    static func save(dataDirectory: String, to out: String, savedAtMillis: UInt64) throws(CommandFailure) -> Summary {
        guard isDirectory(dataDirectory) else { throw CommandFailure("\(dataDirectory) is not a directory") }
        guard !exists(out) else { throw CommandFailure("\(out) exists; choose a new file name (an archive is never overwritten)") }
        let root = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        guard !URL(fileURLWithPath: out).standardizedFileURL.path.hasPrefix(root + "/") else {
            throw CommandFailure("\(out) is inside \(dataDirectory); write the archive elsewhere")
        }
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: dataDirectory) } catch {
            throw CommandFailure("refusing to save a data directory in use: \(error.description); stop the agent first (chorus leave, or SIGTERM)")
        }
        defer { lock.release() }

        let fs = PosixFileSystem()
        let paths = try regularFiles(under: dataDirectory)
        var entries: [ArchiveManifest.Entry] = []
        for path in paths {
            let file = try ReadOnlyFile(dataDirectory + "/" + path)
            var crc: UInt32 = 0
            try file.forEachChunk(of: 0..<file.size) { piece in crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) } }
            entries.append(.init(path: path, size: UInt64(file.size), crc: crc))
        }
        let manifest = ArchiveManifest(nodeName: nodeName(in: dataDirectory), raftID: raftID(in: dataDirectory),
                                       savedAtMillis: savedAtMillis, entries: entries)
        if let problem = manifest.validate() { throw CommandFailure("cannot archive \(dataDirectory): \(problem)") }

        let temporary = out + ".tmp"
        do {
            let archive = try fs.openFile(at: temporary, mode: .createOrTruncate)
            defer { archive.close() }
            var offset = 0
            let head = DataDirectoryArchive.encodeHead(manifest)
            try archive.write(head, at: offset)
            offset += head.count
            for e in entries {
                let file = try ReadOnlyFile(dataDirectory + "/" + e.path)
                var crc: UInt32 = 0
                var copied = 0
                try file.forEachChunk(of: 0..<Int(e.size)) { (piece) throws(CommandFailure) in
                    crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) }
                    do { try archive.write(piece, at: offset + copied) } catch { throw CommandFailure("cannot write \(temporary): \(error)") }
                    copied += piece.count
                }
                guard file.size == Int(e.size), crc == e.crc else {
                    throw CommandFailure("\(dataDirectory)/\(e.path) changed while it was being saved; is something writing to the directory?")
                }
                offset += copied
            }
            try archive.sync()
            try fs.renameFile(at: temporary, to: out)
            try fs.syncDirectory(at: parent(of: out))
        } catch let failure as CommandFailure {
            _ = unlink(temporary)
            throw failure
        } catch {
            _ = unlink(temporary)
            throw CommandFailure("cannot write \(out): \(error)")
        }
        return Summary(files: entries.count, bytes: manifest.totalBytes, nodeName: manifest.nodeName, raftID: manifest.raftID)
    }

    /// Every regular file under `root`, relative, in byte order; the lock file is left out.
    /// Anything but regular files and directories (a symlink, a socket) is refused.
    static func regularFiles(under root: String) throws(CommandFailure) -> [String] {
        var found: [String] = []
        var pending = [""]
        let fs = PosixFileSystem()
        while let relative = pending.popLast() {
            let directory = relative.isEmpty ? root : root + "/" + relative
            let names: [String]
            do { names = try fs.listDirectory(at: directory) } catch { throw CommandFailure("cannot list \(directory): \(error)") }
            for name in names {
                let child = relative.isEmpty ? name : relative + "/" + name
                if relative.isEmpty && name == DataDirectoryLock.fileName { continue }
                var st = stat()
                guard lstat(root + "/" + child, &st) == 0 else { throw CommandFailure("cannot stat \(root)/\(child): \(String(cString: strerror(errno)))") }
                switch st.st_mode & S_IFMT {
                case S_IFREG: found.append(child)
                case S_IFDIR: pending.append(child)
                default: throw CommandFailure("\(root)/\(child) is neither a regular file nor a directory; a data directory holds only those")
                }
            }
        }
        return found.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func nodeName(in directory: String) -> String {
        guard let data = FileManager.default.contents(atPath: directory + "/node.json"),
              let contents = try? JSONDecoder().decode(NodeStateFile.Contents.self, from: data) else { return "" }
        return contents.name
    }

    /// The Raft member id the shard store keeps (0 when absent or unreadable).
    static func raftID(in directory: String) -> UInt64 {
        let path = directory + "/shards/snap/" + SnapshotStore.name(ShardStore.identityGroup)
        guard exists(path), let file = try? ReadOnlyFile(path), file.size <= 4096, let bytes = try? file.read(at: 0, count: file.size),
              case let .success(s) = SnapshotFile.decode(bytes), s.data.count == 8 else { return 0 }
        return s.data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    // MARK: restore

    static func restore(archive path: String, into target: String) throws(CommandFailure) -> Summary {
        let archive = try ReadOnlyFile(path)
        let contents = try verify(archive)
        let manifest = contents.manifest
        let fs = PosixFileSystem()
        var created: [String] = []
        if exists(target) {
            guard isDirectory(target) else { throw CommandFailure("\(target) exists and is not a directory") }
            let names: [String]
            do { names = try fs.listDirectory(at: target) } catch { throw CommandFailure("cannot list \(target): \(error)") }
            guard names.isEmpty else {
                throw CommandFailure("\(target) is not empty (\(names.count) entries); restore only into an empty or new directory")
            }
        } else {
            created = try makeDirectories(target)
        }
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: target) } catch { throw CommandFailure("cannot lock \(target): \(error.description)") }
        defer { lock.release() }

        var directories: Set<String> = [target]
        do {
            for (e, range) in zip(manifest.entries, contents.bodies) {
                let file = target + "/" + e.path
                let dir = parent(of: file)
                if !directories.contains(dir) {
                    for d in try makeDirectories(dir) { directories.insert(d) }
                    directories.insert(dir)
                }
                let handle = try fs.openFile(at: file, mode: .createNew)
                defer { handle.close() }
                var crc: UInt32 = 0
                var written = 0
                try archive.forEachChunk(of: range) { (piece) throws(CommandFailure) in
                    crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) }
                    do { try handle.write(piece, at: written) } catch { throw CommandFailure("cannot write \(file): \(error)") }
                    written += piece.count
                }
                // The archive was verified above; this catches it changing underneath.
                if let problem = DataDirectoryArchive.bodyProblem(e, crc: crc) { throw CommandFailure("\(path) changed during the restore: \(problem)") }
                try handle.sync()
            }
            // Deepest first, so each directory's entry in its parent is durable after its own.
            for d in directories.sorted(by: { $0.count > $1.count }) { try fs.syncDirectory(at: d) }
            for d in created.sorted(by: { $0.count > $1.count }) { try fs.syncDirectory(at: parent(of: d)) }
            try fs.syncDirectory(at: parent(of: target))
        } catch let failure as CommandFailure {
            throw CommandFailure("restoring into \(target) failed: \(failure.message); remove \(target) and restore again")
        } catch {
            throw CommandFailure("restoring into \(target) failed: \(error); remove \(target) and restore again")
        }
        return Summary(files: manifest.entries.count, bytes: manifest.totalBytes, nodeName: manifest.nodeName, raftID: manifest.raftID)
    }

    /// Reads the archive's head and every file's bytes (in 1 MiB pieces) and checks them all:
    /// nothing is written before this returns.
    static func verify(_ archive: ReadOnlyFile) throws(CommandFailure) -> DataDirectoryArchive.Contents {
        func refuse(_ reason: String) -> CommandFailure { CommandFailure("\(archive.path) cannot be restored: \(reason); nothing was written") }
        let length: Int
        switch DataDirectoryArchive.headLength(try archive.read(at: 0, count: DataDirectoryArchive.headerBytes)) {
        case let .failure(f): throw refuse(f.reason)
        case let .success(n): length = n
        }
        let contents: DataDirectoryArchive.Contents
        switch DataDirectoryArchive.decodeHead(try archive.read(at: 0, count: min(length, archive.size)), archiveBytes: archive.size) {
        case let .failure(f): throw refuse(f.reason)
        case let .success(c): contents = c
        }
        for (e, range) in zip(contents.manifest.entries, contents.bodies) {
            var crc: UInt32 = 0
            try archive.forEachChunk(of: range) { piece in crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) } }
            if let problem = DataDirectoryArchive.bodyProblem(e, crc: crc) { throw refuse(problem) }
        }
        if contents.manifest.entries.contains(where: { $0.path == DataDirectoryLock.fileName }) {
            throw refuse("it holds a \(DataDirectoryLock.fileName), which no save writes")
        }
        return contents
    }

    /// Creates `path` and its missing parents; returns those it created, outermost first.
    static func makeDirectories(_ path: String) throws(CommandFailure) -> [String] {
        var missing: [String] = []
        var p = path
        while !p.isEmpty, p != "/", !exists(p) {
            missing.append(p)
            p = parent(of: p)
        }
        let fs = PosixFileSystem()
        for d in missing.reversed() {
            do { try fs.createDirectory(at: d) } catch { throw CommandFailure("cannot create \(d): \(error)") }
        }
        return missing.reversed()
    }

    // MARK: files

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
