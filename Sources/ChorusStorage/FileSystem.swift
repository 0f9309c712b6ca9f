/// The file operations storage performs, injectable so tests can count fsyncs and inject
/// failures. Invariant of every implementation: `StorageFile.sync` returns only after the
/// file's data and size are durable, and `syncDirectory` only after the directory's entries
/// (creations, renames, removals) are durable — the log's guarantees rest on exactly that.
public protocol FileSystem {
    /// Creates the directory if missing (one level); an existing directory is fine. Returns
    /// whether it was created (the caller then fsyncs the parent so the new entry is durable).
    @discardableResult
    func createDirectory(at path: String) throws(StorageError) -> Bool
    /// Names (not paths) of the entries in a directory, excluding "." and "..".
    func listDirectory(at path: String) throws(StorageError) -> [String]
    func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile
    func removeFile(at path: String) throws(StorageError)
    /// Atomically replaces `newPath` with `path`.
    func renameFile(at path: String, to newPath: String) throws(StorageError)
    /// fsync of the directory itself.
    func syncDirectory(at path: String) throws(StorageError)
}

/// The directory holding `path` ("." for a bare name).
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// Creates `path` if missing and, when it was created, fsyncs its parent so the new
/// directory's own entry survives a crash.
func createDurableDirectory(_ path: String, in fileSystem: any FileSystem) throws(StorageError) {
    if try fileSystem.createDirectory(at: path) { try fileSystem.syncDirectory(at: parentDirectory(of: path)) }
}

/// How `FileSystem.openFile` opens a file. Invariant: every mode but `readOnly` opens for
/// reading and writing; a `readOnly` handle refuses `write`, `sync` is allowed, `truncate` is refused.
public enum FileOpenMode: Sendable {
    /// The file must exist.
    case existing
    /// The file must exist; it is opened for reading only (O_RDONLY), so a file on read-only
    /// media or without write permission can be read.
    case readOnly
    /// The file must not exist (O_CREAT | O_EXCL).
    case createNew
    /// Create or empty the file (O_CREAT | O_TRUNC).
    case createOrTruncate
}

/// An open file addressed by offset. Invariant: `write` writes all bytes or throws; `read`
/// returns fewer than `count` bytes only at end of file.
public protocol StorageFile: AnyObject {
    var path: String { get }
    func size() throws(StorageError) -> Int
    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8]
    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError)
    /// fsync.
    func sync() throws(StorageError)
    func truncate(to size: Int) throws(StorageError)
    /// Idempotent.
    func close()
}
