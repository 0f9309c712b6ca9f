import ChorusWire

/// The binary wire format of Raft messages, version 1, and of entry payloads and snapshot
/// images for storage. All integers are varints except the header's magic, version and
/// kind; byte strings are a varint length then the bytes.
///
/// ```
/// message  = magic u16 "RF" · version u8 = 1 · kind u8 · from · to · term · body
/// 1 voteRequest       lastIndex · lastTerm · flags u8 (bit 0 preVote, bit 1 transfer)
/// 2 voteResponse      flags u8 (bit 0 granted, bit 1 preVote)
/// 3 appendEntries     prevIndex · prevTerm · commit · count · count × (term · payload)
/// 4 appendResponse    flags u8 (bit 0 reject) · index · hintIndex · hintTerm
/// 5 heartbeat         commit · context bytes
/// 6 heartbeatResponse context bytes
/// 7 installSnapshot   snapshot
/// 8 timeoutNow        (nothing)
/// 9 readIndex         context bytes
/// 10 readIndexResponse index · context bytes
/// payload  = u8 0 noop | u8 1 · command bytes | u8 2 · configuration
/// configuration = count · voters (strictly increasing) · count · learners (idem, disjoint)
/// snapshot = index · term · configuration · data bytes
/// ```
///
/// Entries inside `appendEntries` carry no index: it is `prevIndex + 1 + position`.
/// Invariant: `decode` is total — any input yields a message that passes
/// `Message.isWellFormed`, or a `WireError`; it never traps and never allocates more than
/// the limits allow.
public enum RaftCodec {
    public static let magic: UInt16 = 0x5246 // "RF"
    public static let version: UInt8 = 1

    /// Bounds the decoder enforces before allocating. Invariant: every count and length read
    /// is checked against these (and the bytes left) before anything is sized by it.
    public struct Limits: Sendable, Hashable {
        /// Entries in one AppendEntries.
        public var maxEntries = 1 << 16
        /// One command's bytes (the frame limit bounds the message as a whole).
        public var maxCommandBytes = 16 << 20
        /// Snapshot image bytes (one message, so within the 16 MiB frame).
        public var maxSnapshotBytes = 16 << 20
        /// Members of a configuration.
        public var maxMembers = 1024
        /// A ReadIndex context.
        public var maxContextBytes = 1024
        public init() {}

        /// For snapshot images a node reads back from its own disk (`decodeImage`): their
        /// size is bounded by the snapshot store's file limit, not by a message frame, so a
        /// state machine larger than a frame still restarts.
        public static var stored: Limits {
            var l = Limits()
            l.maxSnapshotBytes = 1 << 40
            return l
        }
    }

    enum Kind: UInt8 {
        case voteRequest = 1, voteResponse, appendEntries, appendResponse, heartbeat, heartbeatResponse,
             installSnapshot, timeoutNow, readIndex, readIndexResponse
    }

    // MARK: encoding

    public static func encode(_ m: Message) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u16(magic)
        w.u8(version)
        w.u8(kind(of: m.body).rawValue)
        w.varint(m.from.value)
        w.varint(m.to.value)
        w.varint(m.term.value)
        switch m.body {
        case let .voteRequest(r):
            w.varint(r.lastIndex.value)
            w.varint(r.lastTerm.value)
            w.u8((r.preVote ? 1 : 0) | (r.transfer ? 2 : 0))
        case let .voteResponse(r):
            w.u8((r.granted ? 1 : 0) | (r.preVote ? 2 : 0))
        case let .appendEntries(a):
            w.varint(a.prevIndex.value)
            w.varint(a.prevTerm.value)
            w.varint(a.commit.value)
            w.varint(UInt64(a.entries.count))
            for e in a.entries {
                w.varint(e.term.value)
                encode(e.payload, into: &w)
            }
        case let .appendResponse(r):
            w.u8(r.reject ? 1 : 0)
            w.varint(r.index.value)
            w.varint(r.hintIndex.value)
            w.varint(r.hintTerm.value)
        case let .heartbeat(h):
            w.varint(h.commit.value)
            w.blob(h.context)
        case let .heartbeatResponse(r):
            w.blob(r.context)
        case let .installSnapshot(s):
            encode(s, into: &w)
        case .timeoutNow:
            break
        case let .readIndex(r):
            w.blob(r.context)
        case let .readIndexResponse(r):
            w.varint(r.index.value)
            w.blob(r.context)
        }
        return w.bytes
    }

    static func kind(of body: MessageBody) -> Kind {
        switch body {
        case .voteRequest: return .voteRequest
        case .voteResponse: return .voteResponse
        case .appendEntries: return .appendEntries
        case .appendResponse: return .appendResponse
        case .heartbeat: return .heartbeat
        case .heartbeatResponse: return .heartbeatResponse
        case .installSnapshot: return .installSnapshot
        case .timeoutNow: return .timeoutNow
        case .readIndex: return .readIndex
        case .readIndexResponse: return .readIndexResponse
        }
    }

    public static func encode(_ payload: EntryPayload, into w: inout ByteWriter) {
        switch payload {
        case .noop: w.u8(0)
        case let .command(bytes): w.u8(1); w.blob(bytes)
        case let .configuration(c): w.u8(2); encode(c, into: &w)
        }
    }

    public static func encode(_ c: Configuration, into w: inout ByteWriter) {
        w.varint(UInt64(c.voters.count))
        for v in c.voters { w.varint(v.value) }
        w.varint(UInt64(c.learners.count))
        for l in c.learners { w.varint(l.value) }
    }

    public static func encode(_ s: Snapshot, into w: inout ByteWriter) {
        w.varint(s.metadata.index.value)
        w.varint(s.metadata.term.value)
        encode(s.metadata.configuration, into: &w)
        w.blob(s.data)
    }

    /// An entry's payload alone, as a driver stores it beside the entry's index and term.
    public static func encode(_ payload: EntryPayload) -> [UInt8] {
        var w = ByteWriter(capacity: payload.byteCount + 8)
        encode(payload, into: &w)
        return w.bytes
    }

    /// A snapshot's term-free part (configuration and image), as a driver stores it in an
    /// opaque snapshot file whose header already holds index and term.
    public static func encodeImage(_ s: Snapshot) -> [UInt8] {
        var w = ByteWriter(capacity: s.data.count + 32)
        encode(s.metadata.configuration, into: &w)
        w.blob(s.data)
        return w.bytes
    }

    /// What `encodeImage` puts before the state machine's bytes: `encodeImage(s)` is
    /// `imagePrefix(s) + s.data`. A driver writes or streams the two pieces one after the
    /// other instead of joining a large image in memory.
    public static func imagePrefix(_ s: Snapshot) -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        encode(s.metadata.configuration, into: &w)
        w.varint(UInt64(s.data.count))
        return w.bytes
    }

    // MARK: decoding

    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(WireError) -> Message {
        var r = ByteReader(bytes)
        guard try r.u16() == magic else { throw .invalid(field: "magic", reason: "not a Raft message") }
        let v = try r.u8()
        guard v == version else { throw .invalid(field: "version", reason: "\(v) unsupported") }
        let k = try r.u8()
        guard let kind = Kind(rawValue: k) else { throw .invalid(field: "kind", reason: "\(k)") }
        let from = try nodeID(&r, "from")
        let to = try nodeID(&r, "to")
        let term = try self.term(&r, "term")
        let body: MessageBody
        switch kind {
        case .voteRequest:
            let lastIndex = try index(&r, "lastIndex")
            let lastTerm = try self.term(&r, "lastTerm")
            let flags = try self.flags(&r, allowed: 0b11)
            body = .voteRequest(VoteRequest(lastIndex: lastIndex, lastTerm: lastTerm, preVote: flags & 1 != 0, transfer: flags & 2 != 0))
        case .voteResponse:
            let flags = try self.flags(&r, allowed: 0b11)
            body = .voteResponse(VoteResponse(granted: flags & 1 != 0, preVote: flags & 2 != 0))
        case .appendEntries:
            let prevIndex = try index(&r, "prevIndex")
            let prevTerm = try self.term(&r, "prevTerm")
            let commit = try index(&r, "commit")
            // Each entry takes at least two bytes, which bounds the count by the input too.
            let count = try r.count("entries", limit: min(limits.maxEntries, r.remaining / 2))
            var entries: [Entry] = []
            var index = prevIndex
            for _ in 0..<count {
                let t = try self.term(&r, "entry term")
                let payload = try decodePayload(&r, limits: limits)
                index = index + 1
                entries.append(Entry(index: index, term: t, payload: payload))
            }
            body = .appendEntries(AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit))
        case .appendResponse:
            let flags = try self.flags(&r, allowed: 0b1)
            let index = try self.index(&r, "index")
            let hintIndex = try self.index(&r, "hintIndex")
            let hintTerm = try self.term(&r, "hintTerm")
            body = .appendResponse(AppendResponse(reject: flags & 1 != 0, index: index, hintIndex: hintIndex, hintTerm: hintTerm))
        case .heartbeat:
            let commit = try index(&r, "commit")
            body = .heartbeat(Heartbeat(commit: commit, context: try r.blob("context", limit: limits.maxContextBytes)))
        case .heartbeatResponse:
            body = .heartbeatResponse(HeartbeatResponse(context: try r.blob("context", limit: limits.maxContextBytes)))
        case .installSnapshot:
            body = .installSnapshot(try decodeSnapshot(&r, limits: limits))
        case .timeoutNow:
            body = .timeoutNow
        case .readIndex:
            let context = try r.blob("context", limit: limits.maxContextBytes)
            guard !context.isEmpty else { throw .invalid(field: "context", reason: "empty") }
            body = .readIndex(ReadIndexRequest(context: context))
        case .readIndexResponse:
            let index = try self.index(&r, "index")
            body = .readIndexResponse(ReadIndexResponse(index: index, context: try r.blob("context", limit: limits.maxContextBytes)))
        }
        try r.expectEnd()
        let m = Message(from: from, to: to, term: term, body: body)
        guard m.isWellFormed else { throw .invalid(field: "message", reason: "indices or terms out of order") }
        return m
    }

    /// Reads what `encode(_ payload:)` wrote.
    public static func decodePayload(_ bytes: [UInt8], limits: Limits = Limits()) throws(WireError) -> EntryPayload {
        var r = ByteReader(bytes)
        let p = try decodePayload(&r, limits: limits)
        try r.expectEnd()
        return p
    }

    /// Reads what `encodeImage` wrote, given the index and term stored beside it.
    public static func decodeImage(_ bytes: [UInt8], index: LogIndex, term: Term, limits: Limits = Limits()) throws(WireError) -> Snapshot {
        guard index.value < LogIndex.limit, term.value < Term.limit else { throw .invalid(field: "snapshot", reason: "index or term out of range") }
        var r = ByteReader(bytes)
        let c = try decodeConfiguration(&r, limits: limits)
        let data = try r.blob("snapshot data", limit: limits.maxSnapshotBytes)
        try r.expectEnd()
        return Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: c), data: data)
    }

    /// `decodeImage` for an image the caller hands over: the state machine's bytes are
    /// moved to the front of the same buffer instead of copied, so a large image is not held
    /// twice (pass it with `consume`, or as the last use of the array).
    public static func decodeImage(taking bytes: consuming [UInt8], index: LogIndex, term: Term, limits: Limits = Limits()) throws(WireError) -> Snapshot {
        guard index.value < LogIndex.limit, term.value < Term.limit else { throw .invalid(field: "snapshot", reason: "index or term out of range") }
        let (c, dataStart) = try imageHead(bytes, limits: limits)
        var data = consume bytes
        data.removeSubrange(0..<dataStart)
        return Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: c), data: data)
    }

    /// The length of the whole image (`imagePrefix` and data) whose first bytes are `head`,
    /// read from its prefix; nil while `head` is too short to hold the prefix. A receiver of
    /// a stream that continues past the image (a snapshot's bodies) learns where it ends.
    public static func imageBytes(head: [UInt8], limits: Limits = Limits()) throws(WireError) -> Int? {
        var r = ByteReader(head)
        do {
            _ = try decodeConfiguration(&r, limits: limits)
            let n = try r.count("snapshot data", limit: limits.maxSnapshotBytes)
            return r.offset + n
        } catch {
            if case .truncated = error { return nil }
            throw error
        }
    }

    /// The configuration of an image and where its data starts, having checked that the
    /// data's length accounts for the rest exactly.
    static func imageHead(_ bytes: [UInt8], limits: Limits) throws(WireError) -> (Configuration, Int) {
        var r = ByteReader(bytes)
        let c = try decodeConfiguration(&r, limits: limits)
        let n = try r.count("snapshot data", limit: limits.maxSnapshotBytes)
        guard n == r.remaining else {
            if n > r.remaining { throw WireError.truncated(needed: n, remaining: r.remaining) }
            throw WireError.trailingBytes(r.remaining - n)
        }
        return (c, r.offset)
    }

    static func decodePayload(_ r: inout ByteReader, limits: Limits) throws(WireError) -> EntryPayload {
        let tag = try r.u8()
        switch tag {
        case 0: return .noop
        case 1: return .command(try r.blob("command", limit: limits.maxCommandBytes))
        case 2: return .configuration(try decodeConfiguration(&r, limits: limits))
        default: throw .invalid(field: "payload", reason: "tag \(tag)")
        }
    }

    static func decodeConfiguration(_ r: inout ByteReader, limits: Limits) throws(WireError) -> Configuration {
        let voterCount = try r.count("voters", limit: min(limits.maxMembers, r.remaining))
        var voters: [NodeID] = []
        for _ in 0..<voterCount { voters.append(try nodeID(&r, "voter")) }
        let learnerCount = try r.count("learners", limit: min(limits.maxMembers, r.remaining))
        var learners: [NodeID] = []
        for _ in 0..<learnerCount { learners.append(try nodeID(&r, "learner")) }
        guard let c = Configuration(validatingVoters: voters, learners: learners) else {
            throw .invalid(field: "configuration", reason: "members not sorted, repeated or both voter and learner")
        }
        return c
    }

    static func decodeSnapshot(_ r: inout ByteReader, limits: Limits) throws(WireError) -> Snapshot {
        let index = try self.index(&r, "snapshot index")
        let term = try self.term(&r, "snapshot term")
        let c = try decodeConfiguration(&r, limits: limits)
        let data = try r.blob("snapshot data", limit: limits.maxSnapshotBytes)
        return Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: c), data: data)
    }

    static func nodeID(_ r: inout ByteReader, _ field: String) throws(WireError) -> NodeID {
        guard let id = NodeID(encoded: try r.varint()) else { throw .invalid(field: field, reason: "node id 0") }
        return id
    }

    static func term(_ r: inout ByteReader, _ field: String) throws(WireError) -> Term {
        let v = try r.varint()
        guard v < Term.limit else { throw .invalid(field: field, reason: "term \(v) out of range") }
        return Term(v)
    }

    static func index(_ r: inout ByteReader, _ field: String) throws(WireError) -> LogIndex {
        let v = try r.varint()
        guard v < LogIndex.limit else { throw .invalid(field: field, reason: "index \(v) out of range") }
        return LogIndex(v)
    }

    static func flags(_ r: inout ByteReader, allowed: UInt8) throws(WireError) -> UInt8 {
        let f = try r.u8()
        guard f & ~allowed == 0 else { throw .invalid(field: "flags", reason: "unknown bits \(f)") }
        return f
    }
}
