/// A directory holding the latest snapshot of each group, one file per group
/// (`group-<20 digits>.snap`), each replaced atomically: write a temporary file, fsync it,
/// rename it over the old one, fsync the directory.
/// Invariant: after `save` returns, `load` returns that snapshot even after a crash; a crash
/// during `save` leaves the previous snapshot intact. A snapshot older than the stored one is
/// refused, so the stored snapshot always covers the group's snapshot mark in the log
/// (the driver saves the snapshot before it calls `SegmentLog.markSnapshot`).
public struct SnapshotStore {
    public let directory: String
    /// Largest snapshot file `load` will read. Default 1 GiB.
    public let maxSnapshotBytes: Int
    let fileSystem: any FileSystem

    static let suffix = ".snap"
    static let temporarySuffix = ".snap.tmp"

    /// Opens (creating if needed) the store and removes temporary files left by a crash.
    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem(), maxSnapshotBytes: Int = 1 << 30) throws(StorageError) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.maxSnapshotBytes = maxSnapshotBytes
        try createDurableDirectory(directory, in: fileSystem)
        let leftovers = try fileSystem.listDirectory(at: directory).filter { $0.hasSuffix(SnapshotStore.temporarySuffix) }
        for name in leftovers.sorted() { try fileSystem.removeFile(at: path(name)) }
        if !leftovers.isEmpty { try fileSystem.syncDirectory(at: directory) }
    }

    static func name(_ group: UInt64) -> String {
        let digits = String(group)
        return "group-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    static func parse(_ name: String) -> UInt64? {
        guard name.hasPrefix("group-"), name.hasSuffix(suffix), name.utf8.count == 6 + 20 + suffix.utf8.count else { return nil }
        let digits = name.dropFirst(6).dropLast(suffix.count)
        guard digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(digits)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Stores `snapshot` as the group's latest, durably and atomically.
    public func save(_ snapshot: Snapshot) throws(StorageError) {
        if let stored = try? storedIndex(group: snapshot.group), stored > snapshot.index {
            throw .staleSnapshot(group: snapshot.group, index: snapshot.index, storedIndex: stored)
        }
        let final = path(SnapshotStore.name(snapshot.group))
        let temporary = final + ".tmp"
        let file = try fileSystem.openFile(at: temporary, mode: .createOrTruncate)
        defer { file.close() }
        try file.write(SnapshotFile.encode(snapshot), at: 0)
        try file.sync()
        try fileSystem.renameFile(at: temporary, to: final)
        try fileSystem.syncDirectory(at: directory)
    }

    /// The group's stored snapshot, nil when there is none; `corruptSnapshot` when the file
    /// is damaged.
    public func load(group: UInt64) throws(StorageError) -> Snapshot? {
        let name = SnapshotStore.name(group)
        guard try fileSystem.listDirectory(at: directory).contains(name) else { return nil }
        let file = try fileSystem.openFile(at: path(name), mode: .existing)
        defer { file.close() }
        let size = try file.size()
        guard size <= maxSnapshotBytes else { throw .corruptSnapshot(file: name, reason: "\(size) bytes exceeds limit \(maxSnapshotBytes)") }
        let bytes = try file.read(at: 0, count: size)
        switch SnapshotFile.decode(bytes) {
        case let .failure(e): throw .corruptSnapshot(file: name, reason: e.reason)
        case let .success(s):
            guard s.group == group else { throw .corruptSnapshot(file: name, reason: "holds group \(s.group)") }
            return s
        }
    }

    /// Removes the group's snapshot (after `SegmentLog.removeGroup`).
    public func remove(group: UInt64) throws(StorageError) {
        let name = SnapshotStore.name(group)
        guard try fileSystem.listDirectory(at: directory).contains(name) else { return }
        try fileSystem.removeFile(at: path(name))
        try fileSystem.syncDirectory(at: directory)
    }

    /// Groups with a stored snapshot, in order.
    public func groups() throws(StorageError) -> [UInt64] {
        try fileSystem.listDirectory(at: directory).compactMap(SnapshotStore.parse).sorted()
    }

    private func storedIndex(group: UInt64) throws(StorageError) -> UInt64? {
        let name = SnapshotStore.name(group)
        guard try fileSystem.listDirectory(at: directory).contains(name) else { return nil }
        let file = try fileSystem.openFile(at: path(name), mode: .existing)
        defer { file.close() }
        guard case let .success(h) = SnapshotFile.decodeHeader(try file.read(at: 0, count: SnapshotFile.headerBytes)) else { return nil }
        return h.index
    }
}
