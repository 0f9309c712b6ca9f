/// What a data-directory archive (`DataDirectoryArchive`) holds: which node it was taken
/// from, when, and every file's relative path, size and CRC-32C.
///
/// Invariant (checked by `validate`, so also on every decoded manifest): paths are relative,
/// made of non-empty components other than `.` and `..`, free of NUL, strictly increasing in
/// byte order (so unique), and no path is a directory of another; a restore can therefore
/// never write outside its target directory, nor meet one path as both file and directory.
public struct ArchiveManifest: Sendable, Equatable {
    /// One archived file.
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var size: UInt64
        public var crc: UInt32
        public init(path: String, size: UInt64, crc: UInt32) {
            self.path = path
            self.size = size
            self.crc = crc
        }
    }

    /// The node's name from its `node.json` ("" when the directory had none).
    public var nodeName: String
    /// The node's Raft member id from its shard store (0 when the directory had none).
    public var raftID: UInt64
    /// Wall-clock time of the save, Unix milliseconds.
    public var savedAtMillis: UInt64
    public var entries: [Entry]

    /// Longest path accepted (bytes), and most files in one archive.
    public static let maxPathBytes = 4096
    public static let maxEntries = 1 << 20

    public init(nodeName: String, raftID: UInt64, savedAtMillis: UInt64, entries: [Entry]) {
        self.nodeName = nodeName
        self.raftID = raftID
        self.savedAtMillis = savedAtMillis
        self.entries = entries
    }

    /// The sum of every file's size (saturating: a decoded manifest is checked against the
    /// archive's real size before this is trusted).
    public var totalBytes: UInt64 {
        entries.reduce(UInt64(0)) { sum, e in
            let (s, overflow) = sum.addingReportingOverflow(e.size)
            return overflow ? .max : s
        }
    }

    /// The first rule the paths break, or nil when every path is fit to restore.
    public func validate() -> String? {
        guard entries.count <= ArchiveManifest.maxEntries else { return "\(entries.count) files exceeds \(ArchiveManifest.maxEntries)" }
        var previous: [UInt8]?
        var files = Set<String>()
        for e in entries {
            if let reason = ArchiveManifest.pathProblem(e.path) { return "path \"\(e.path.prefix(80))\": \(reason)" }
            let bytes = Array(e.path.utf8)
            if let previous, !previous.lexicographicallyPrecedes(bytes) { return "path \"\(e.path.prefix(80))\" is out of order or repeated" }
            previous = bytes
            files.insert(e.path)
        }
        for e in entries {
            var parent = e.path[...]
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if files.contains(String(parent)) { return "path \"\(parent.prefix(80))\" is both a file and a directory" }
            }
        }
        return nil
    }

    /// Why `path` cannot be restored under a directory, or nil.
    static func pathProblem(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return "empty" }
        guard bytes.count <= maxPathBytes else { return "longer than \(maxPathBytes) bytes" }
        guard !bytes.contains(0) else { return "holds a NUL byte" }
        guard bytes.first != UInt8(ascii: "/") else { return "absolute" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "has an empty component" }
            if component == "." || component == ".." { return "has a \(component) component" }
        }
        return nil
    }
}
