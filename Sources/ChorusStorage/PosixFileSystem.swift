import Glibc

/// `FileSystem` over Glibc system calls: `open`, `pread`, `pwrite`, `fsync`, `ftruncate`,
/// `rename`, `unlink`, and `fsync` of a directory descriptor. Invariant: EINTR is retried,
/// short reads and writes are continued, every other failure becomes `StorageError.io`.
public struct PosixFileSystem: FileSystem, Sendable {
    public init() {}

    @discardableResult
    public func createDirectory(at path: String) throws(StorageError) -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        if errno == EEXIST { return false }
        throw .io(operation: "mkdir", path: path, errno: errno)
    }

    public func listDirectory(at path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        var flags = O_RDWR | O_CLOEXEC
        switch mode {
        case .existing: break
        case .readOnly: flags = O_RDONLY | O_CLOEXEC
        case .createNew: flags |= O_CREAT | O_EXCL
        case .createOrTruncate: flags |= O_CREAT | O_TRUNC
        }
        let fd = Glibc.open(path, flags, mode_t(0o644))
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func removeFile(at path: String) throws(StorageError) {
        if unlink(path) != 0 { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    public func renameFile(at path: String, to newPath: String) throws(StorageError) {
        if rename(path, newPath) != 0 { throw .io(operation: "rename", path: path, errno: errno) }
    }

    public func syncDirectory(at path: String) throws(StorageError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open directory", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        if fsync(fd) != 0 { throw .io(operation: "fsync directory", path: path, errno: errno) }
    }
}

/// A file descriptor owned by one `PosixFile`. Invariant: `fd` is open until `close()`.
final class PosixFile: StorageFile {
    let path: String
    private var fd: Int32

    init(fd: Int32, path: String) { self.fd = fd; self.path = path }
    deinit { close() }

    private func descriptor(_ operation: String) throws(StorageError) -> Int32 {
        guard fd >= 0 else { throw .io(operation: operation, path: path, errno: EBADF) }
        return fd
    }

    func size() throws(StorageError) -> Int {
        var st = stat()
        if fstat(try descriptor("fstat"), &st) != 0 { throw .io(operation: "fstat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        let fd = try descriptor("pread")
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n == 0 { break }
                if errno == EINTR { continue }
                failure = errno
                break
            }
        }
        if failure != 0 { throw .io(operation: "pread", path: path, errno: failure) }
        if done < count { buffer.removeSubrange(done...) }
        return buffer
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        let fd = try descriptor("pwrite")
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < raw.count {
                let n = pwrite(fd, base + done, raw.count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n < 0 ? errno : EIO
                break
            }
        }
        if failure != 0 { throw .io(operation: "pwrite", path: path, errno: failure) }
    }

    func sync() throws(StorageError) {
        if fsync(try descriptor("fsync")) != 0 { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    func truncate(to size: Int) throws(StorageError) {
        if ftruncate(try descriptor("ftruncate"), off_t(size)) != 0 { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }
}
