/// A directory holding the latest snapshot of each group, one file per group
/// (`group-<20 digits>.snap`, format in `SnapshotFile`), each replaced atomically: write a
/// temporary file one checksummed chunk at a time, fsync it, rename it over the old one, fsync
/// the directory. Files are read back one chunk at a time, so a snapshot is bounded by
/// `maxSnapshotBytes` (and the disk), never by a frame or record limit.
/// Invariant: after `save` returns, `load` returns that snapshot even after a crash; a crash
/// during `save` leaves the previous snapshot intact. A snapshot older than the stored one is
/// refused, so the stored snapshot always covers the group's snapshot mark in the log
/// (the driver saves the snapshot before it calls `SegmentLog.markSnapshot`).
public struct SnapshotStore {
    public let directory: String
    /// Largest snapshot file `load` will read. Default 1 GiB.
    public let maxSnapshotBytes: Int
    /// Data bytes per checksummed chunk of a file this store writes.
    public let chunkBytes: Int
    let fileSystem: any FileSystem

    static let suffix = ".snap"
    static let temporarySuffix = ".snap.tmp"

    /// Opens (creating if needed) the store and removes temporary files left by a crash.
    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem(), maxSnapshotBytes: Int = 1 << 30,
                chunkBytes: Int = SnapshotFile.defaultChunkBytes) throws(StorageError) {
        guard chunkBytes >= 1, chunkBytes <= SnapshotFile.maxChunkBytes else {
            throw .invalidSetting(name: "chunkBytes", rule: "must be 1...\(SnapshotFile.maxChunkBytes), got \(chunkBytes)")
        }
        self.directory = directory
        self.chunkBytes = chunkBytes
        self.fileSystem = fileSystem
        self.maxSnapshotBytes = maxSnapshotBytes
        try createDurableDirectory(directory, in: fileSystem)
        let leftovers = try fileSystem.listDirectory(at: directory).filter { $0.hasSuffix(SnapshotStore.temporarySuffix) }
        for name in leftovers.sorted() { try fileSystem.removeFile(at: path(name)) }
        if !leftovers.isEmpty { try fileSystem.syncDirectory(at: directory) }
    }

    /// The file name of `group`'s snapshot inside the store's directory.
    public static func name(_ group: UInt64) -> String {
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
        try save(group: snapshot.group, index: snapshot.index, term: snapshot.term, parts: [snapshot.data])
    }

    /// Stores the snapshot whose data is the concatenation of `parts` (an image's prefix and
    /// the state machine's bytes, not joined in memory), durably and atomically: written one
    /// chunk at a time to a temporary file, fsynced, renamed over the old one, the directory
    /// fsynced.
    public func save(group: UInt64, index: UInt64, term: UInt64, parts: [[UInt8]]) throws(StorageError) {
        if let stored = try? storedIndex(group: group), stored > index {
            throw .staleSnapshot(group: group, index: index, storedIndex: stored)
        }
        let final = path(SnapshotStore.name(group))
        let temporary = final + ".tmp"
        let file = try fileSystem.openFile(at: temporary, mode: .createOrTruncate)
        defer { file.close() }
        var offset = 0
        try SnapshotFile.emit(group: group, index: index, term: term, parts: parts, chunkBytes: chunkBytes) { (bytes) throws(StorageError) in
            try file.write(bytes, at: offset)
            offset += bytes.count
        }
        try file.sync()
        try fileSystem.renameFile(at: temporary, to: final)
        try fileSystem.syncDirectory(at: directory)
    }

    /// The group's stored snapshot, nil when there is none; `corruptSnapshot` when the file
    /// is damaged, truncated or larger than `maxSnapshotBytes`. Read one chunk at a time.
    public func load(group: UInt64) throws(StorageError) -> Snapshot? {
        let name = SnapshotStore.name(group)
        guard try fileSystem.listDirectory(at: directory).contains(name) else { return nil }
        let file = try fileSystem.openFile(at: path(name), mode: .existing)
        defer { file.close() }
        let s = try SnapshotFile.read(size: try file.size(), name: name, maxBytes: maxSnapshotBytes) { (offset, count) throws(StorageError) in
            try file.read(at: offset, count: count)
        }
        guard s.group == group else { throw .corruptSnapshot(file: name, reason: "holds group \(s.group)") }
        return s
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
        guard case let .success(h) = SnapshotFile.decodeHeader(try file.read(at: 0, count: SnapshotFile.headerBytesV2)) else { return nil }
        return h.index
    }
}
