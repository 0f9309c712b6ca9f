import Glibc

/// A `FileSystem` in memory that models what survives a crash, for tests and for the
/// simulator's "restart with what was fsynced only".
///
/// Each file has its current bytes and its durable bytes (as of its last `sync`); each
/// directory has its current entries and its durable entries (as of its last `syncDirectory`).
/// Invariant: after `crash()` every file holds exactly its durable bytes and every directory
/// exactly its durable entries — an unsynced write, a created file whose directory was not
/// synced, an unsynced rename or removal are all undone. Directories themselves are durable
/// once created. Not thread-safe.
public final class MemoryFileSystem: FileSystem {
    /// One file's storage, shared by every handle and every directory entry that names it.
    final class Node {
        var bytes: [UInt8] = []
        var durableBytes: [UInt8] = []
    }

    private var directories: Set<String> = []
    private var entries: [String: Node] = [:]
    private var durableEntries: [String: Node] = [:]

    public private(set) var fileSyncs = 0
    public private(set) var directorySyncs = 0

    public init() {}

    static func parent(_ path: String) -> String { parentDirectory(of: path) }

    /// Creates the directory and any missing ancestors (all durable at once).
    @discardableResult
    public func createDirectory(at path: String) throws(StorageError) -> Bool {
        guard !directories.contains(path) else { return false }
        var p = path
        while !p.isEmpty, p != "/", p != ".", directories.insert(p).inserted { p = parentDirectory(of: p) }
        directories.insert(p)
        return true
    }

    public func listDirectory(at path: String) throws(StorageError) -> [String] {
        guard directories.contains(path) else { throw .io(operation: "opendir", path: path, errno: ENOENT) }
        let prefix = path + "/"
        return entries.keys.filter { $0.hasPrefix(prefix) && MemoryFileSystem.parent($0) == path }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    public func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        guard directories.contains(MemoryFileSystem.parent(path)) else { throw .io(operation: "open", path: path, errno: ENOENT) }
        switch mode {
        case .existing, .readOnly:
            guard let node = entries[path] else { throw .io(operation: "open", path: path, errno: ENOENT) }
            return MemoryFile(node: node, path: path, owner: self, writable: mode != .readOnly)
        case .createNew:
            guard entries[path] == nil else { throw .io(operation: "open", path: path, errno: EEXIST) }
            let node = Node()
            entries[path] = node
            return MemoryFile(node: node, path: path, owner: self)
        case .createOrTruncate:
            let node = entries[path] ?? Node()
            node.bytes = []
            entries[path] = node
            return MemoryFile(node: node, path: path, owner: self)
        }
    }

    public func removeFile(at path: String) throws(StorageError) {
        guard entries.removeValue(forKey: path) != nil else { throw .io(operation: "unlink", path: path, errno: ENOENT) }
    }

    public func renameFile(at path: String, to newPath: String) throws(StorageError) {
        guard let node = entries.removeValue(forKey: path) else { throw .io(operation: "rename", path: path, errno: ENOENT) }
        entries[newPath] = node
    }

    public func syncDirectory(at path: String) throws(StorageError) {
        guard directories.contains(path) else { throw .io(operation: "open directory", path: path, errno: ENOENT) }
        directorySyncs += 1
        for key in durableEntries.keys where MemoryFileSystem.parent(key) == path { durableEntries[key] = nil }
        for (key, node) in entries where MemoryFileSystem.parent(key) == path { durableEntries[key] = node }
    }

    func recordFileSync() { fileSyncs += 1 }

    /// Loses everything not made durable, as a power failure would.
    public func crash() {
        entries = durableEntries
        for node in entries.values { node.bytes = node.durableBytes }
    }

    /// What `crash()` would leave, as a separate file system; this one is unchanged. Lets a
    /// test ask "what would a restart find now?" in the middle of a driver's loop.
    public func durableCopy() -> MemoryFileSystem {
        let copy = MemoryFileSystem()
        copy.directories = directories
        var copies: [ObjectIdentifier: Node] = [:]
        for key in durableEntries.keys.sorted() {
            guard let node = durableEntries[key] else { continue }
            let twin = copies[ObjectIdentifier(node)] ?? {
                let n = Node()
                n.bytes = node.durableBytes
                n.durableBytes = node.durableBytes
                return n
            }()
            copies[ObjectIdentifier(node)] = twin
            copy.entries[key] = twin
            copy.durableEntries[key] = twin
        }
        return copy
    }

    /// Like `crash()`, but a file whose unsynced change only appended keeps a random prefix of
    /// the appended bytes — the torn write a real disk can leave.
    public func crash(tearingAppends rng: inout some RandomNumberGenerator) {
        entries = durableEntries
        for key in entries.keys.sorted() {
            guard let node = entries[key] else { continue }
            let durable = node.durableBytes
            if node.bytes.count > durable.count, Array(node.bytes.prefix(durable.count)) == durable {
                let extra = node.bytes.count - durable.count
                node.bytes = Array(node.bytes.prefix(durable.count + Int.random(in: 0...extra, using: &rng)))
            } else {
                node.bytes = durable
            }
            node.durableBytes = node.bytes
        }
    }

    /// A file's current bytes, nil if there is no such file.
    public func contents(of path: String) -> [UInt8]? { entries[path]?.bytes }

    /// Replaces (or creates) a file durably, for tests that damage files on purpose.
    public func setContents(of path: String, to bytes: [UInt8]) {
        let node = entries[path] ?? Node()
        node.bytes = bytes
        node.durableBytes = bytes
        entries[path] = node
        durableEntries[path] = node
    }
}

/// A handle on a `MemoryFileSystem` file. Invariant: reads and writes act on the shared node,
/// so every handle sees the same bytes; `sync` makes them durable.
final class MemoryFile: StorageFile {
    let path: String
    private let node: MemoryFileSystem.Node
    private unowned let owner: MemoryFileSystem
    private var isOpen = true
    private let writable: Bool

    init(node: MemoryFileSystem.Node, path: String, owner: MemoryFileSystem, writable: Bool = true) {
        self.node = node; self.path = path; self.owner = owner; self.writable = writable
    }

    private func check(_ operation: String) throws(StorageError) {
        guard isOpen else { throw .io(operation: operation, path: path, errno: EBADF) }
    }

    func size() throws(StorageError) -> Int { try check("fstat"); return node.bytes.count }

    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        try check("pread")
        guard offset >= 0, count >= 0 else { throw .io(operation: "pread", path: path, errno: EINVAL) }
        guard offset < node.bytes.count else { return [] }
        let end = count > node.bytes.count - offset ? node.bytes.count : offset + count
        return Array(node.bytes[offset..<end])
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        try check("pwrite")
        guard writable else { throw .io(operation: "pwrite", path: path, errno: EBADF) }
        guard offset >= 0 else { throw .io(operation: "pwrite", path: path, errno: EINVAL) }
        if node.bytes.count < offset { node.bytes += [UInt8](repeating: 0, count: offset - node.bytes.count) }
        let overlap = min(bytes.count, node.bytes.count - offset)
        node.bytes.replaceSubrange(offset..<offset + overlap, with: bytes[0..<overlap])
        node.bytes += bytes[overlap...]
    }

    func sync() throws(StorageError) {
        try check("fsync")
        owner.recordFileSync()
        node.durableBytes = node.bytes
    }

    func truncate(to size: Int) throws(StorageError) {
        try check("ftruncate")
        guard writable else { throw .io(operation: "ftruncate", path: path, errno: EBADF) }
        guard size >= 0 else { throw .io(operation: "ftruncate", path: path, errno: EINVAL) }
        if size <= node.bytes.count { node.bytes.removeSubrange(size...) } else { node.bytes += [UInt8](repeating: 0, count: size - node.bytes.count) }
    }

    func close() { isOpen = false }
}
