import ChorusLocks
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire

/// The binary form of `PeerMessage` (and of the client requests and replies it carries).
///
/// ```
/// message = magic u16 "NR" · version u8 = 1 · kind u8 (1 request, 2 reply, 3 cache frame)
///           · callID u64 · origin u64 (≠ 0) · budgetMillis u32 · tag u8 · fields
/// ```
/// Strings and byte strings are varint-length-prefixed, lists varint-count-prefixed, each
/// with a limit; identifiers are re-validated by their own parsers. Invariant:
/// `decode(encode(m)) == m`, and `decode` of anything else throws a `WireError` — it never
/// traps, whatever the bytes (fuzzed in the tests).
public enum PeerMessageCodec {
    public static let magic: UInt16 = 0x4E52 // "NR"
    public static let version: UInt8 = 1
    /// Longest list in a message (edges, views, shards).
    public static let maxListCount = 100_000
    static let maxMessageBytes = 4096
    static let maxCommandBytes = 2 << 20

    /// True when `bytes` starts like a peer RPC message (the peer-stream demultiplexer).
    public static func isMessage(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(magic >> 8) && bytes[1] == UInt8(magic & 0xFF)
    }

    public static func encode(_ m: PeerMessage) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u16(magic); w.u8(version)
        switch m.body {
        case .request: w.u8(1)
        case .reply: w.u8(2)
        case .cache: w.u8(CacheWire.frameKind)
        }
        w.u64(m.callID); w.u64(m.origin.value); w.u32(m.budgetMillis)
        switch m.body {
        case let .request(r): encode(r, into: &w)
        case let .reply(r): encode(r, into: &w)
        case let .cache(life, message): encodeCacheFrame(life: life, message, into: &w)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> PeerMessage {
        var r = ByteReader(bytes)
        guard try r.u16() == magic else { throw .invalid(field: "magic", reason: "not a peer message") }
        let v = try r.u8()
        guard v == version else { throw .invalid(field: "version", reason: "unsupported version \(v)") }
        let kind = try r.u8()
        let callID = try r.u64()
        guard let origin = NodeID(encoded: try r.u64()) else { throw .invalid(field: "origin", reason: "zero") }
        let budget = try r.u32()
        let body: PeerMessage.Body
        switch kind {
        case 1: body = .request(try decodeRequest(&r))
        case 2: body = .reply(try decodeReply(&r))
        case CacheWire.frameKind: body = try decodeCacheFrame(&r)
        default: throw .invalid(field: "kind", reason: "unknown kind \(kind)")
        }
        try r.expectEnd()
        return PeerMessage(callID: callID, origin: origin, budgetMillis: budget, body: body)
    }

    // MARK: requests

    static func encode(_ q: PeerRequest, into w: inout ByteWriter) {
        switch q {
        case let .client(c): w.u8(1); encode(c, into: &w)
        case let .propose(shard, requestID, command): w.u8(2); w.u32(shard.value); w.blob(requestID); w.blob(command)
        case let .sessionState(s): w.u8(3); encode(s, into: &w)
        case let .dropSession(s): w.u8(4); encode(s, into: &w)
        case let .deadlockReport(shard, epoch, edges):
            w.u8(5); w.u16(shard); w.u64(epoch); w.varint(UInt64(edges.count))
            for e in edges { encode(e.waiter, into: &w); encode(e.blocker, into: &w); w.string(e.name.text); w.string(e.requestID.text) }
        case let .deadlockRefresh(shard, epoch): w.u8(6); w.u16(shard); w.u64(epoch)
        }
    }

    static func decodeRequest(_ r: inout ByteReader) throws(WireError) -> PeerRequest {
        let tag = try r.u8()
        switch tag {
        case 1: return .client(try decodeClientRequest(&r))
        case 2:
            let shard = ShardID(try r.u32())
            let id = try r.blob("request_id", limit: CommandEnvelope.maxRequestIDBytes)
            return .propose(shard: shard, requestID: id, command: try r.blob("command", limit: maxCommandBytes))
        case 3: return .sessionState(try decodeSession(&r))
        case 4: return .dropSession(try decodeSession(&r))
        case 5:
            let shard = try r.u16(), epoch = try r.u64()
            let n = try r.count("edges", limit: maxListCount)
            var edges: [WaitEdge] = []
            edges.reserveCapacity(min(n, 1024))
            for _ in 0..<n {
                let waiter = try decodeSession(&r), blocker = try decodeSession(&r)
                edges.append(WaitEdge(waiter: waiter, blocker: blocker, name: try decodeName(&r), requestID: try decodeRequestID(&r)))
            }
            return .deadlockReport(shard: shard, epoch: epoch, edges: edges)
        case 6: return .deadlockRefresh(shard: try r.u16(), epoch: try r.u64())
        default: throw .invalid(field: "request", reason: "unknown tag \(tag)")
        }
    }

    // MARK: replies

    static func encode(_ p: PeerReply, into w: inout ByteWriter) {
        switch p {
        case let .client(c): w.u8(1); encode(c, into: &w)
        case let .applied(bytes): w.u8(2); w.blob(bytes)
        case let .sessionState(s): w.u8(3); w.u8(s.rawValue)
        case let .dropped(shards): w.u8(4); w.varint(UInt64(shards.count)); for s in shards { w.u16(s) }
        case let .reportTaken(epoch): w.u8(5); w.u64(epoch)
        case .done: w.u8(6)
        case let .notLeader(hint): w.u8(7); w.u64(hint?.value ?? 0)
        case let .refused(why): w.u8(8); w.u8(why.rawValue)
        }
    }

    static func decodeReply(_ r: inout ByteReader) throws(WireError) -> PeerReply {
        let tag = try r.u8()
        switch tag {
        case 1: return .client(try decodeClientReply(&r))
        case 2: return .applied(try r.blob("reply", limit: maxCommandBytes))
        case 3:
            guard let s = SessionStanding(rawValue: try r.u8()) else { throw .invalid(field: "standing", reason: "unknown") }
            return .sessionState(s)
        case 4:
            let n = try r.count("shards", limit: 65_536)
            var out: [UInt16] = []
            for _ in 0..<n { out.append(try r.u16()) }
            return .dropped(out)
        case 5: return .reportTaken(epoch: try r.u64())
        case 6: return .done
        case 7: return .notLeader(hint: NodeID(encoded: try r.u64()))
        case 8:
            guard let why = PeerRefusal(rawValue: try r.u8()) else { throw .invalid(field: "refusal", reason: "unknown") }
            return .refused(why)
        default: throw .invalid(field: "reply", reason: "unknown tag \(tag)")
        }
    }

    // MARK: client requests

    static func encode(_ c: ClientRequest, into w: inout ByteWriter) {
        switch c {
        case let .kvGet(key): w.u8(1); w.blob(key)
        case let .kvPut(key, value, id): w.u8(2); w.blob(key); w.blob(value); w.blob(id)
        case let .kvDelete(key, id): w.u8(3); w.blob(key); w.blob(id)
        case let .openSession(ttl, id): w.u8(4); w.varint(ttl); w.string(id.text)
        case let .keepAlive(s): w.u8(5); encode(s, into: &w)
        case let .closeSession(s, id): w.u8(6); encode(s, into: &w); w.string(id.text)
        case let .acquire(name, session, mode, wait, id):
            w.u8(7); w.string(name.text); encode(session, into: &w); w.u8(mode.rawValue); w.varint(wait); w.string(id.text)
        case let .release(name, session, id): w.u8(8); w.string(name.text); encode(session, into: &w); w.string(id.text)
        case let .lockStatus(name): w.u8(9); w.string(name.text)
        case let .lockList(prefix, local): w.u8(10); w.string(prefix); w.u8(local ? 1 : 0)
        case let .shardList(local): w.u8(11); w.u8(local ? 1 : 0)
        case .queueCreate, .queueDelete, .queueList, .queueInfo, .queuePublish, .queueFetch, .queueSettle, .queueStats,
             .queueRedrive, .queueDeadLetters, .queuePartition:
            encodeQueueRequest(c, into: &w)
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete, .cacheStats:
            encodeCacheRequest(c, into: &w)
        }
    }

    public static func decodeClientRequest(_ r: inout ByteReader) throws(WireError) -> ClientRequest {
        let tag = try r.u8()
        switch tag {
        case 1: return .kvGet(key: try decodeKey(&r))
        case 2:
            let key = try decodeKey(&r)
            let value = try r.blob("value", limit: ShardCommand.maxValueBytes)
            return .kvPut(key: key, value: value, requestID: try r.blob("request_id", limit: CommandEnvelope.maxRequestIDBytes))
        case 3:
            let key = try decodeKey(&r)
            return .kvDelete(key: key, requestID: try r.blob("request_id", limit: CommandEnvelope.maxRequestIDBytes))
        case 4: return .openSession(ttlMillis: try r.varint(), requestID: try decodeRequestID(&r))
        case 5: return .keepAlive(try decodeSession(&r))
        case 6:
            let s = try decodeSession(&r)
            return .closeSession(s, requestID: try decodeRequestID(&r))
        case 7:
            let name = try decodeName(&r), session = try decodeSession(&r), mode = try decodeMode(&r)
            let wait = try r.varint()
            guard wait <= ClientRequest.maxWaitMillis else { throw .invalid(field: "wait", reason: "over a day") }
            return .acquire(name: name, session: session, mode: mode, waitMillis: wait, requestID: try decodeRequestID(&r))
        case 8:
            let name = try decodeName(&r), session = try decodeSession(&r)
            return .release(name: name, session: session, requestID: try decodeRequestID(&r))
        case 9: return .lockStatus(try decodeName(&r))
        case 10:
            let prefix = try r.string("prefix", limit: ClientRequest.maxPrefixBytes)
            return .lockList(prefix: prefix, localOnly: try decodeFlag(&r))
        case 11: return .shardList(localOnly: try decodeFlag(&r))
        case QueueWire.firstTag...QueueWire.lastTag: return try decodeQueueRequest(tag, &r)
        case CacheWire.firstTag...CacheWire.lastTag: return try decodeCacheRequest(tag, &r)
        default: throw .invalid(field: "client request", reason: "unknown tag \(tag)")
        }
    }

    // MARK: client replies

    static func encode(_ c: ClientReply, into w: inout ByteWriter) {
        switch c {
        case let .kvWritten(key, shard, index): w.u8(1); w.blob(key); w.u32(shard.value); w.u64(index)
        case let .kvValue(key, shard, value): w.u8(2); w.blob(key); w.u32(shard.value); w.blob(value)
        case let .sessionOpened(s, ttl): w.u8(3); encode(s, into: &w); w.varint(ttl)
        case let .sessionAlive(s, ttl): w.u8(4); encode(s, into: &w); w.varint(ttl)
        case let .sessionClosed(s): w.u8(5); encode(s, into: &w)
        case let .granted(name, mode, token): w.u8(6); w.string(name.text); w.u8(mode.rawValue); w.u64(token.value)
        case .released: w.u8(7)
        case let .lock(view): w.u8(8); encode(view, into: &w)
        case let .locks(views): w.u8(9); w.varint(UInt64(views.count)); for v in views { encode(v, into: &w) }
        case let .shards(reports): w.u8(10); w.varint(UInt64(reports.count)); for s in reports { encode(s, into: &w) }
        case let .failure(f): w.u8(11); w.u8(f.code.rawValue); w.string(f.message)
        case .queueCatalogue, .queues, .queue, .queuePublished, .queueDelivered, .queueSettled, .queueStatistics, .queueCount,
             .queuePartitionReply, .queuePartitionStats, .queuePartitionDeadLetters, .queueDeadLetters:
            encodeQueueReply(c, into: &w)
        case .cacheValue, .cacheWritten, .cacheInteger, .cacheStatistics:
            encodeCacheReply(c, into: &w)
        }
    }

    public static func decodeClientReply(_ r: inout ByteReader) throws(WireError) -> ClientReply {
        let tag = try r.u8()
        switch tag {
        case 1:
            let key = try decodeKey(&r), shard = ShardID(try r.u32())
            return .kvWritten(key: key, shard: shard, index: try r.u64())
        case 2:
            let key = try decodeKey(&r), shard = ShardID(try r.u32())
            return .kvValue(key: key, shard: shard, value: try r.blob("value", limit: ShardCommand.maxValueBytes))
        case 3:
            let s = try decodeSession(&r)
            return .sessionOpened(s, ttlMillis: try r.varint())
        case 4:
            let s = try decodeSession(&r)
            return .sessionAlive(s, ttlMillis: try r.varint())
        case 5: return .sessionClosed(try decodeSession(&r))
        case 6:
            let name = try decodeName(&r), mode = try decodeMode(&r)
            return .granted(name: name, mode: mode, token: FencingToken(try r.u64()))
        case 7: return .released
        case 8: return .lock(try decodeView(&r))
        case 9:
            let n = try r.count("locks", limit: maxListCount)
            var views: [LockView] = []
            for _ in 0..<n { views.append(try decodeView(&r)) }
            return .locks(views)
        case 10:
            let n = try r.count("shards", limit: 65_536)
            var reports: [ShardReport] = []
            for _ in 0..<n { reports.append(try decodeReport(&r)) }
            return .shards(reports)
        case 11:
            guard let code = ClientFailure.Code(rawValue: try r.u8()) else { throw .invalid(field: "failure", reason: "unknown code") }
            return .failure(ClientFailure(code: code, message: try r.string("message", limit: maxMessageBytes)))
        case QueueWire.firstTag...QueueWire.lastTag: return try decodeQueueReply(tag, &r)
        case CacheWire.firstTag...CacheWire.lastTag: return try decodeCacheReply(tag, &r)
        default: throw .invalid(field: "client reply", reason: "unknown tag \(tag)")
        }
    }

    // MARK: parts

    static func encode(_ s: SessionID, into w: inout ByteWriter) { w.u16(s.home); w.varint(s.index); w.varint(s.openedAtMillis) }

    static func decodeSession(_ r: inout ByteReader) throws(WireError) -> SessionID {
        let home = try r.u16(), index = try r.varint()
        return SessionID(home: home, index: index, openedAtMillis: try r.varint())
    }

    static func decodeName(_ r: inout ByteReader) throws(WireError) -> LockName {
        let text = try r.string("name", limit: LockName.maxBytes)
        do { return try LockName(text) } catch { throw .invalid(field: "name", reason: "\(error)") }
    }

    static func decodeRequestID(_ r: inout ByteReader) throws(WireError) -> RequestID {
        let text = try r.string("request_id", limit: RequestID.maxBytes)
        do { return try RequestID(text) } catch { throw .invalid(field: "request_id", reason: "\(error)") }
    }

    static func decodeKey(_ r: inout ByteReader) throws(WireError) -> [UInt8] {
        let key = try r.blob("key", limit: ShardCommand.maxKeyBytes)
        guard !key.isEmpty else { throw .invalid(field: "key", reason: "empty") }
        return key
    }

    static func decodeMode(_ r: inout ByteReader) throws(WireError) -> LockMode {
        guard let mode = LockMode(rawValue: try r.u8()) else { throw .invalid(field: "mode", reason: "unknown") }
        return mode
    }

    static func decodeFlag(_ r: inout ByteReader) throws(WireError) -> Bool {
        switch try r.u8() {
        case 0: return false
        case 1: return true
        default: throw .invalid(field: "flag", reason: "not 0 or 1")
        }
    }

    static func encode(_ v: LockView, into w: inout ByteWriter) {
        w.string(v.name.text)
        w.varint(UInt64(v.holders.count))
        for h in v.holders { encode(h.session, into: &w); w.u8(h.mode.rawValue); w.u64(h.token.value) }
        w.varint(UInt64(v.waiters.count))
        for q in v.waiters { encode(q.session, into: &w); w.u8(q.mode.rawValue); w.string(q.requestID.text) }
    }

    static func decodeView(_ r: inout ByteReader) throws(WireError) -> LockView {
        let name = try decodeName(&r)
        let h = try r.count("holders", limit: maxListCount)
        var holders: [LockView.Holder] = []
        for _ in 0..<h {
            let s = try decodeSession(&r), mode = try decodeMode(&r)
            holders.append(.init(session: s, mode: mode, token: FencingToken(try r.u64())))
        }
        let q = try r.count("waiters", limit: maxListCount)
        var waiters: [LockView.Waiter] = []
        for _ in 0..<q {
            let s = try decodeSession(&r), mode = try decodeMode(&r)
            waiters.append(.init(session: s, mode: mode, requestID: try decodeRequestID(&r)))
        }
        return LockView(name: name, holders: holders, waiters: waiters)
    }

    static func encode(_ s: ShardReport, into w: inout ByteWriter) {
        w.u32(UInt32(clamping: s.shard))
        w.varint(UInt64(s.voters.count)); for v in s.voters { w.string(v) }
        w.varint(UInt64(s.learners.count)); for l in s.learners { w.string(l) }
        w.string(s.leader ?? ""); w.u64(s.term); w.u64(s.commitIndex); w.u64(s.appliedIndex); w.string(s.reportedBy ?? "")
    }

    static func decodeReport(_ r: inout ByteReader) throws(WireError) -> ShardReport {
        let shard = Int(try r.u32())
        func names(_ field: String, _ r: inout ByteReader) throws(WireError) -> [String] {
            let n = try r.count(field, limit: 64)
            var out: [String] = []
            for _ in 0..<n { out.append(try r.string(field, limit: 512)) }
            return out
        }
        let voters = try names("voters", &r), learners = try names("learners", &r)
        let leader = try r.string("leader", limit: 512)
        let term = try r.u64(), commit = try r.u64(), applied = try r.u64()
        let by = try r.string("reported_by", limit: 512)
        return ShardReport(shard: shard, voters: voters, learners: learners, leader: leader.isEmpty ? nil : leader, term: term,
                           commitIndex: commit, appliedIndex: applied, reportedBy: by.isEmpty ? nil : by)
    }
}
