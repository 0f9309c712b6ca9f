import ChorusWire

/// The on-disk framing of one record (all integers big-endian):
///
///     0   length   u32   bytes in the body, 9 ... maxRecordBytes
///     4   crc      u32   CRC-32C (Castagnoli) of the body
///     8   body     type u8, sequence u64, then the type's fields (see docs/storage.md)
///
/// Invariant: `decode(encode(r, s))` gives back `r` and `s`; `check` and `decode` are total —
/// any bytes, however hostile, produce a verdict, never a trap or an allocation sized by a
/// length field (lengths are checked against the bytes actually present first).
public enum RecordFrame {
    /// Length and CRC.
    public static let headerBytes = 8
    /// Type and sequence: the smallest body.
    public static let minimumBodyBytes = 9

    /// What `check` found at an offset.
    public enum Check: Equatable, Sendable {
        /// A frame whose length is sane and whose CRC matches.
        case valid(bodyBytes: Int)
        /// No bytes left: a clean end.
        case end
        /// A torn or damaged frame: short header, bad length, short body or CRC mismatch.
        case damaged(reason: String)
    }

    /// A decoded record, or why a frame with a good CRC still is not a record.
    public enum Decoded: Equatable, Sendable {
        case record(Record, sequence: UInt64, frameBytes: Int)
        case end
        case damaged(reason: String)
        /// The CRC matched but the body breaks the format: never a torn write.
        case malformed(reason: String)
    }

    /// Total encoded size of `record`, header included.
    public static func frameBytes(of record: Record) -> Int {
        var body = record.type.fixedBodyBytes
        if case let .entry(_, _, _, payload) = record { body += payload.count }
        return headerBytes + body
    }

    /// Appends the framed record to `writer`.
    public static func append(_ record: Record, sequence: UInt64, to writer: inout ByteWriter) {
        let start = writer.count
        writer.u32(0)
        writer.u32(0)
        writer.u8(record.type.rawValue)
        writer.u64(sequence)
        switch record {
        case let .entry(group, index, term, payload):
            writer.u64(group); writer.u64(index); writer.u64(term); writer.raw(payload)
        case let .truncation(group, fromIndex):
            writer.u64(group); writer.u64(fromIndex)
        case let .hardState(group, hs):
            writer.u64(group); writer.u64(hs.term); writer.u64(hs.vote); writer.u64(hs.commit)
        case let .snapshotMark(group, mark):
            writer.u64(group); writer.u64(mark.index); writer.u64(mark.term)
        case let .groupRemoval(group):
            writer.u64(group)
        case let .checkpoint(c):
            writer.u64(c.group); writer.u64(c.lastIndex); writer.u64(c.snapshot.index); writer.u64(c.snapshot.term)
            let hs = c.hardState ?? .empty
            writer.u8(c.hardState == nil ? 0 : 1)
            writer.u64(hs.term); writer.u64(hs.vote); writer.u64(hs.commit)
        }
        let bodyStart = start + headerBytes
        let bodyBytes = writer.count - bodyStart
        precondition(bodyBytes <= Int(UInt32.max), "record body of \(bodyBytes) bytes cannot be framed")
        // The checksum goes into a local first: a `bytes` temporary still alive during the
        // patch would make the buffer non-unique and copy the whole batch on every record.
        let crc = writer.bytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        writer.patchU32(at: start, UInt32(bodyBytes))
        writer.patchU32(at: start + 4, crc)
    }

    /// The framed record as a fresh array.
    public static func encode(_ record: Record, sequence: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: frameBytes(of: record))
        append(record, sequence: sequence, to: &w)
        return w.bytes
    }

    /// Checks the frame at `offset`: length within bounds and the bytes present, CRC matching.
    /// Does not decode the body.
    public static func check(_ bytes: [UInt8], at offset: Int, maxRecordBytes: Int) -> Check {
        guard offset >= 0, offset <= bytes.count else { return .damaged(reason: "offset outside the file") }
        let remaining = bytes.count - offset
        if remaining == 0 { return .end }
        if remaining < headerBytes { return .damaged(reason: "short header: \(remaining) bytes") }
        let length = Int(readU32(bytes, offset))
        if length < minimumBodyBytes { return .damaged(reason: "bad length \(length)") }
        if length > maxRecordBytes { return .damaged(reason: "length \(length) exceeds limit \(maxRecordBytes)") }
        if length > remaining - headerBytes {
            return .damaged(reason: "short record: length \(length), \(remaining - headerBytes) bytes present")
        }
        let stored = readU32(bytes, offset + 4)
        let bodyStart = offset + headerBytes
        let actual = CRC32C.checksum(bytes[bodyStart..<bodyStart + length])
        if stored != actual { return .damaged(reason: "checksum mismatch") }
        return .valid(bodyBytes: length)
    }

    /// Checks and decodes the frame at `offset`. With `includePayload: false` an entry's payload
    /// comes back empty (recovery needs only where entries are, not their bytes).
    public static func decode(_ bytes: [UInt8], at offset: Int, maxRecordBytes: Int, includePayload: Bool = true) -> Decoded {
        switch check(bytes, at: offset, maxRecordBytes: maxRecordBytes) {
        case .end: return .end
        case let .damaged(reason): return .damaged(reason: reason)
        case let .valid(bodyBytes):
            switch decodeBody(bytes, at: offset, bodyBytes: bodyBytes, includePayload: includePayload) {
            case let .success((record, sequence)):
                return .record(record, sequence: sequence, frameBytes: headerBytes + bodyBytes)
            case let .failure(error):
                return .malformed(reason: error.reason)
            }
        }
    }

    /// Why a checksum-valid body is not a record.
    public struct BodyError: Error, Equatable, Sendable { public var reason: String }

    /// Decodes the body of a frame that `check` found valid (`bodyBytes` from `.valid`).
    public static func decodeBody(_ bytes: [UInt8], at offset: Int, bodyBytes: Int, includePayload: Bool) -> Result<(Record, UInt64), BodyError> {
        guard offset >= 0, offset <= bytes.count - headerBytes, bodyBytes >= minimumBodyBytes,
              bodyBytes <= bytes.count - offset - headerBytes else {
            return .failure(BodyError(reason: "body outside the bytes"))
        }
        let bodyStart = offset + headerBytes
        let bodyEnd = bodyStart + bodyBytes
        guard let type = RecordType(rawValue: bytes[bodyStart]) else {
            return .failure(BodyError(reason: "unknown record type \(bytes[bodyStart])"))
        }
        let fixed = type.fixedBodyBytes
        if type == .entry ? bodyBytes < fixed : bodyBytes != fixed {
            return .failure(BodyError(reason: "\(type) body of \(bodyBytes) bytes, expected \(type == .entry ? "at least " : "")\(fixed)"))
        }
        // Every field read below lies inside [bodyStart, bodyStart + fixed) ⊆ the body.
        var r = ByteReader(bytes, offset: bodyStart + 1)
        do throws(WireError) {
            let sequence = try r.u64()
            let record: Record
            switch type {
            case .entry:
                let group = try r.u64(), index = try r.u64(), term = try r.u64()
                let payload = includePayload ? Array(bytes[r.offset..<bodyEnd]) : []
                record = .entry(group: group, index: index, term: term, payload: payload)
            case .truncation:
                record = .truncation(group: try r.u64(), fromIndex: try r.u64())
            case .hardState:
                let group = try r.u64()
                record = .hardState(group: group, HardState(term: try r.u64(), vote: try r.u64(), commit: try r.u64()))
            case .snapshotMark:
                let group = try r.u64()
                record = .snapshotMark(group: group, SnapshotMark(index: try r.u64(), term: try r.u64()))
            case .groupRemoval:
                record = .groupRemoval(group: try r.u64())
            case .checkpoint:
                let group = try r.u64(), lastIndex = try r.u64()
                let snapshot = SnapshotMark(index: try r.u64(), term: try r.u64())
                let flags = try r.u8()
                let hs = HardState(term: try r.u64(), vote: try r.u64(), commit: try r.u64())
                guard flags <= 1 else { return .failure(BodyError(reason: "checkpoint flags \(flags)")) }
                guard flags == 1 || hs == .empty else { return .failure(BodyError(reason: "checkpoint without hard state has hard-state fields")) }
                guard lastIndex >= snapshot.index else { return .failure(BodyError(reason: "checkpoint last index \(lastIndex) below snapshot \(snapshot.index)")) }
                record = .checkpoint(GroupCheckpoint(group: group, lastIndex: lastIndex, snapshot: snapshot, hardState: flags == 1 ? hs : nil))
            }
            return .success((record, sequence))
        } catch {
            return .failure(BodyError(reason: "\(error)"))
        }
    }

    /// Whether a frame that checks and decodes, with a sequence in `sequences`, starts anywhere
    /// after `offset`. Recovery asks this about the bytes after damage in the last segment:
    /// valid records after the damage mean the damage is in the middle, not a torn tail.
    ///
    /// Bounded work: candidate positions are filtered on length, type and sequence before the
    /// CRC is computed, and at most `crcBudget` bytes are checksummed in all. When the budget
    /// runs out the answer is `true` — the caller then refuses to start rather than guess.
    public static func validFrameExists(in bytes: [UInt8], after offset: Int, sequences: ClosedRange<UInt64>,
                                        maxRecordBytes: Int, crcBudget: Int = 256 << 20) -> Bool {
        var budget = crcBudget
        var p = offset < 0 ? 0 : offset < bytes.count ? offset + 1 : bytes.count
        let minFrame = headerBytes + minimumBodyBytes
        while p <= bytes.count - minFrame {
            defer { p += 1 }
            let length = Int(readU32(bytes, p))
            guard length >= minimumBodyBytes, length <= maxRecordBytes, length <= bytes.count - p - headerBytes else { continue }
            guard let type = RecordType(rawValue: bytes[p + headerBytes]) else { continue }
            guard type == .entry ? length >= type.fixedBodyBytes : length == type.fixedBodyBytes else { continue }
            var sequence: UInt64 = 0
            for i in 0..<8 { sequence = sequence << 8 | UInt64(bytes[p + headerBytes + 1 + i]) }
            guard sequences.contains(sequence) else { continue }
            budget -= length
            if budget < 0 { return true }
            if case .record = decode(bytes, at: p, maxRecordBytes: maxRecordBytes, includePayload: false) { return true }
        }
        return false
    }

    @inline(__always) static func readU32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
}
