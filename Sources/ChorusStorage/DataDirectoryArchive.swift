import ChorusWire

/// The archive `chorus snapshot save` writes of a stopped node's data directory (big-endian),
/// version 1:
///
///     0   magic          "CHAR"
///     4   version        u16 = 1
///     6   flags          u16 = 0
///     8   manifestBytes  u32   1 ... maxManifestBytes
///     12  manifest       savedAtMillis u64, raftID u64, nodeName (varint length, UTF-8),
///                        count (varint), then per file: path (varint length, UTF-8),
///                        size u64, crc u32 (CRC-32C of the file's bytes)
///     ..  manifestCRC    u32   CRC-32C of bytes 0 ..< 12 + manifestBytes
///     ..  bodies         every file's bytes, in manifest order, back to back
///
/// Invariant: decoding is total and all-or-nothing. Bad magic, an unknown version or flag, a
/// manifest that fails its CRC or `ArchiveManifest.validate`, an archive whose size is not
/// exactly what the manifest accounts for (truncated or with trailing bytes) and a file whose
/// CRC differs are each a `Failure` naming the problem, found before the caller writes
/// anything; sizes are compared with the archive's real size before any arithmetic trusts
/// them. `decode` checks an archive held in memory; a reader in pieces calls `headLength`,
/// then `decodeHead`, then checks each file's CRC (`bodyProblem`) before it writes.
public enum DataDirectoryArchive {
    static let magic: [UInt8] = Array("CHAR".utf8)
    public static let version: UInt16 = 1
    public static let maxManifestBytes = 64 << 20
    public static let headerBytes = 12

    /// Why an archive cannot be restored.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// A decoded archive: the manifest, and where each file's bytes lie in the archive.
    public struct Contents {
        public var manifest: ArchiveManifest
        /// `bodies[i]` is the byte range of `manifest.entries[i]` in the archive.
        public var bodies: [Range<Int>]
    }

    /// The header and manifest; the files' bytes follow them, in `manifest.entries` order.
    public static func encodeHead(_ manifest: ArchiveManifest) -> [UInt8] {
        precondition(manifest.validate() == nil, "archive manifest: \(manifest.validate() ?? "")")
        var m = ByteWriter(capacity: 64 + manifest.entries.count * 48)
        m.u64(manifest.savedAtMillis); m.u64(manifest.raftID); m.string(manifest.nodeName)
        m.varint(UInt64(manifest.entries.count))
        for e in manifest.entries { m.string(e.path); m.u64(e.size); m.u32(e.crc) }
        var w = ByteWriter(capacity: headerBytes + m.count + 4)
        w.raw(magic); w.u16(version); w.u16(0); w.u32(UInt32(m.count))
        w.raw(m.bytes)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// A whole archive in memory (tests, and small directories).
    public static func encode(_ files: [(path: String, bytes: [UInt8])], nodeName: String = "", raftID: UInt64 = 0,
                              savedAtMillis: UInt64 = 0) -> [UInt8] {
        let sorted = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        let manifest = ArchiveManifest(nodeName: nodeName, raftID: raftID, savedAtMillis: savedAtMillis,
                                       entries: sorted.map { .init(path: $0.path, size: UInt64($0.bytes.count), crc: CRC32C.checksum($0.bytes)) })
        var bytes = encodeHead(manifest)
        for f in sorted { bytes += f.bytes }
        return bytes
    }

    /// How many bytes the header and manifest take (`headLength` ... of the archive's first
    /// `headerBytes`), after checking magic, version, flags and the manifest's length bound.
    public static func headLength(_ header: [UInt8]) -> Result<Int, Failure> {
        guard header.count >= headerBytes else { return .failure(.init("truncated: \(header.count) bytes, shorter than a header")) }
        guard Array(header[0..<4]) == magic else { return .failure(.init("not a Chorus data archive (bad magic)")) }
        var r = ByteReader(header, offset: 4)
        do throws(WireError) {
            let v = try r.u16(), flags = try r.u16(), manifestBytes = try r.u32()
            guard v == version else { return .failure(.init("unsupported archive version \(v) (this chorus reads version \(version))")) }
            guard flags == 0 else { return .failure(.init("unknown archive flags \(flags)")) }
            guard manifestBytes >= 1, manifestBytes <= UInt32(maxManifestBytes) else { return .failure(.init("manifest length \(manifestBytes) out of range")) }
            return .success(headerBytes + Int(manifestBytes) + 4)
        } catch {
            return .failure(.init("bad header: \(error)"))
        }
    }

    /// The manifest of an archive of `archiveBytes` bytes whose header and manifest are
    /// `head` (`headLength` bytes), and where each file's bytes lie: checks the manifest's CRC
    /// and rules, and that the files account for the archive's size exactly. The files' CRCs
    /// are the caller's to check (`decode` does, for an archive in memory).
    public static func decodeHead(_ head: [UInt8], archiveBytes: Int) -> Result<Contents, Failure> {
        let length: Int
        switch headLength(head) {
        case let .failure(f): return .failure(f)
        case let .success(n): length = n
        }
        guard head.count >= length, archiveBytes >= length else {
            return .failure(.init("truncated: \(min(head.count, archiveBytes)) bytes, the manifest alone needs \(length)"))
        }
        let manifestEnd = length - 4
        var crcReader = ByteReader(head, offset: manifestEnd)
        do throws(WireError) {
            guard try crcReader.u32() == CRC32C.checksum(head[0..<manifestEnd]) else { return .failure(.init("manifest checksum mismatch")) }
            var m = ByteReader(Array(head[headerBytes..<manifestEnd]))
            let savedAt = try m.u64(), raftID = try m.u64()
            let name = try m.string("node name", limit: 1024)
            let count = try m.count("file count", limit: ArchiveManifest.maxEntries)
            var entries: [ArchiveManifest.Entry] = []
            entries.reserveCapacity(min(count, m.remaining / 13))
            for _ in 0..<count {
                let path = try m.string("path", limit: ArchiveManifest.maxPathBytes)
                entries.append(.init(path: path, size: try m.u64(), crc: try m.u32()))
            }
            try m.expectEnd()
            let manifest = ArchiveManifest(nodeName: name, raftID: raftID, savedAtMillis: savedAt, entries: entries)
            if let problem = manifest.validate() { return .failure(.init("bad manifest: \(problem)")) }

            // Sizes are checked against what is left before they are added up.
            var offset = length
            var bodies: [Range<Int>] = []
            bodies.reserveCapacity(entries.count)
            for e in entries {
                let left = archiveBytes - offset
                guard e.size <= UInt64(left) else {
                    return .failure(.init("truncated: \(e.path) needs \(e.size) bytes at offset \(offset), \(left) left"))
                }
                bodies.append(offset..<offset + Int(e.size))
                offset += Int(e.size)
            }
            guard offset == archiveBytes else { return .failure(.init("\(archiveBytes - offset) bytes after the last file")) }
            return .success(Contents(manifest: manifest, bodies: bodies))
        } catch {
            return .failure(.init("bad manifest: \(error)"))
        }
    }

    /// The reason a file's bytes do not match its manifest entry, or nil.
    public static func bodyProblem(_ entry: ArchiveManifest.Entry, crc: UInt32) -> String? {
        crc == entry.crc ? nil : "\(entry.path): checksum mismatch (the archive is damaged)"
    }

    /// Decodes and verifies a whole archive held in memory (every file's CRC included).
    public static func decode(_ bytes: [UInt8]) -> Result<Contents, Failure> {
        let length: Int
        switch headLength(bytes) {
        case let .failure(f): return .failure(f)
        case let .success(n): length = n
        }
        guard bytes.count >= length else { return .failure(.init("truncated: \(bytes.count) bytes, the manifest alone needs \(length)")) }
        let contents: Contents
        switch decodeHead(Array(bytes[0..<length]), archiveBytes: bytes.count) {
        case let .failure(f): return .failure(f)
        case let .success(c): contents = c
        }
        for (e, range) in zip(contents.manifest.entries, contents.bodies) {
            if let problem = bodyProblem(e, crc: CRC32C.checksum(bytes[range])) { return .failure(.init(problem)) }
        }
        return .success(contents)
    }
}
