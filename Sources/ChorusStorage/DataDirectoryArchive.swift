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
/// Invariant: decoding is total and all-or-nothing. Bad magic, an unknown version or flag,
/// a manifest that fails its CRC or `ArchiveManifest.validate`, an archive whose size is not
/// exactly what the manifest accounts for (truncated or with trailing bytes) and a file whose
/// CRC differs are each a `Failure` naming the problem, found before the caller writes
/// anything; sizes are compared with the archive's real size before any arithmetic trusts them.
public enum DataDirectoryArchive {
    static let magic: [UInt8] = Array("CHAR".utf8)
    public static let version: UInt16 = 1
    public static let maxManifestBytes = 64 << 20
    static let headerBytes = 12

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

    /// Decodes and verifies the whole archive (every file's CRC included).
    public static func decode(_ bytes: [UInt8]) -> Result<Contents, Failure> {
        guard bytes.count >= headerBytes + 4 else { return .failure(.init("truncated: \(bytes.count) bytes, shorter than a header")) }
        guard Array(bytes[0..<4]) == magic else { return .failure(.init("not a Chorus data archive (bad magic)")) }
        var r = ByteReader(bytes, offset: 4)
        do throws(WireError) {
            let v = try r.u16(), flags = try r.u16(), manifestBytes = try r.u32()
            guard v == version else { return .failure(.init("unsupported archive version \(v) (this chorus reads version \(version))")) }
            guard flags == 0 else { return .failure(.init("unknown archive flags \(flags)")) }
            guard manifestBytes >= 1, manifestBytes <= UInt32(maxManifestBytes) else { return .failure(.init("manifest length \(manifestBytes) out of range")) }
            let manifestEnd = headerBytes + Int(manifestBytes)
            guard bytes.count >= manifestEnd + 4 else { return .failure(.init("truncated: \(bytes.count) bytes, the manifest alone needs \(manifestEnd + 4)")) }
            var crcReader = ByteReader(bytes, offset: manifestEnd)
            guard try crcReader.u32() == CRC32C.checksum(bytes[0..<manifestEnd]) else { return .failure(.init("manifest checksum mismatch")) }

            var m = ByteReader(Array(bytes[headerBytes..<manifestEnd]))
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
            var offset = manifestEnd + 4
            var bodies: [Range<Int>] = []
            bodies.reserveCapacity(entries.count)
            for e in entries {
                let left = bytes.count - offset
                guard e.size <= UInt64(left) else {
                    return .failure(.init("truncated: \(e.path) needs \(e.size) bytes at offset \(offset), \(left) left"))
                }
                bodies.append(offset..<offset + Int(e.size))
                offset += Int(e.size)
            }
            guard offset == bytes.count else { return .failure(.init("\(bytes.count - offset) bytes after the last file")) }
            for (e, range) in zip(entries, bodies) where CRC32C.checksum(bytes[range]) != e.crc {
                return .failure(.init("\(e.path): checksum mismatch (the archive is damaged)"))
            }
            return .success(Contents(manifest: manifest, bodies: bodies))
        } catch {
            return .failure(.init("bad manifest: \(error)"))
        }
    }
}
