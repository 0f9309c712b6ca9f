import ChorusBase
import ChorusMembership
import Foundation
import Glibc

/// The node's durable state in its data directory: `node.json` holding its name and the
/// highest incarnation it has used, so that a restarted node starts above every incarnation
/// of its previous life and its `alive` announcement wins at once.
///
/// Invariant: the file on disk is always a complete document: it is replaced by writing a
/// temporary file, fsyncing it, renaming it over the old one and fsyncing the directory.
public struct NodeStateFile: Sendable {
    /// What the file holds: the name the incarnation belongs to, and the highest incarnation
    /// used under it. Invariant: a stored incarnation is never lowered by this node.
    public struct Contents: Codable, Sendable, Equatable {
        public var name: String
        public var incarnation: Incarnation
        public init(name: String, incarnation: Incarnation) {
            self.name = name
            self.incarnation = incarnation
        }
    }

    public let directory: String
    public var path: String { directory + "/node.json" }

    /// Creates the directory (and its parents) when missing.
    public init(directory: String) throws(AgentStartError) {
        self.directory = directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .dataDirectory(path: directory, reason: "it exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .dataDirectory(path: directory, reason: "cannot create it: \(NodeStateFile.reason(error))")
        }
    }

    /// The stored state; nil when there is none yet. A file that cannot be parsed is an error
    /// naming the file (the caller decides whether to start afresh).
    public func load() throws(AgentStartError) -> Contents? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .dataDirectory(path: directory, reason: "cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(Contents.self, from: data)
        } catch {
            throw .dataDirectory(path: directory, reason: "\(path) is not a valid node state file")
        }
    }

    /// Writes `contents` durably (temporary file, fsync, rename, fsync of the directory).
    public func save(_ contents: Contents) throws(AgentStartError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(contents) else {
            throw .dataDirectory(path: directory, reason: "cannot encode node state")
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .dataDirectory(path: directory, reason: "cannot write \(temporary): \(SocketError.text(for: errno))") }
        var bytes = Array(data)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                Glibc.close(fd)
                throw .dataDirectory(path: directory, reason: "cannot write \(temporary): \(SocketError.text(for: code))")
            }
            offset += n
        }
        if fsync(fd) != 0 {
            let code = errno
            Glibc.close(fd)
            throw .dataDirectory(path: directory, reason: "cannot fsync \(temporary): \(SocketError.text(for: code))")
        }
        Glibc.close(fd)
        guard rename(temporary, path) == 0 else {
            throw .dataDirectory(path: directory, reason: "cannot rename \(temporary) to \(path): \(SocketError.text(for: errno))")
        }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            Glibc.close(dirFD)
        }
    }

    private static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return SocketError.text(for: Int32(underlying.code))
        }
        return ns.localizedDescription
    }
}
