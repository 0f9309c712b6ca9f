import Foundation
import Glibc

/// An exclusive hold on a data directory: `flock(2)` on `<directory>/chorus.lock`, which
/// holds the pid of the process that took it. One agent runs on a data directory at a time,
/// and `chorus snapshot save|restore` refuses a directory an agent is using.
///
/// Invariant: while a value exists and `release()` was not called, no other process (and no
/// other value in this process) holds the same directory. The kernel drops the hold when
/// the process dies, `kill -9` included, so a crash never leaves a stale lock behind: a
/// left-over file without a holder is taken over.
public final class DataDirectoryLock: @unchecked Sendable {
    /// The file's name inside the data directory (never archived by `chorus snapshot save`).
    public static let fileName = "chorus.lock"

    public let directory: String
    public var path: String { directory + "/" + DataDirectoryLock.fileName }
    private var fd: Int32

    /// Why a hold could not be taken.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Another process holds it; `pid` is what it wrote into the file (nil when unreadable).
        case held(path: String, pid: Int32?)
        /// The file could not be opened or locked.
        case system(path: String, reason: String)

        public var description: String {
            switch self {
            case let .held(path, pid):
                return "\(path) is held by \(pid.map { "process \($0)" } ?? "another process") (an agent runs on this data directory)"
            case let .system(path, reason): return "cannot lock \(path): \(reason)"
            }
        }
    }

    /// Takes the hold without waiting; the directory must exist.
    public init(directory: String) throws(Failure) {
        self.directory = directory
        let path = directory + "/" + DataDirectoryLock.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(path: path, reason: SocketError.text(for: errno)) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            let holder = DataDirectoryLock.readPID(fd)
            Glibc.close(fd)
            if code == EWOULDBLOCK { throw .held(path: path, pid: holder) }
            throw .system(path: path, reason: SocketError.text(for: code))
        }
        self.fd = fd
        // The pid is a courtesy for error messages; the hold itself is the flock.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    /// Gives the hold up; calling it again does nothing.
    public func release() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { release() }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
