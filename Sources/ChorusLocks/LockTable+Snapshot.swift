import ChorusWire

/// The table's snapshot image, for Raft snapshots. Versioned binary, every collection in a
/// fixed order (sessions by `SessionID`, names by bytes, holders in grant order, waiters in
/// queue order, tombstones and open-request ids oldest first), so equal tables give equal
/// bytes in every process.
///
/// ```
/// image     = magic u16 "LT" · version u8 = 1 · shard u16 · appliedIndex · settings
///             · sessions · locks · tombstones · opens
/// settings  = maxTombstones · requestsPerSession · recentOpens · minTTL · maxTTL · maxWait
/// sessions  = count · (session · u8 0 | u8 1 · ttl · count · (requestID · reply)*)*
/// locks     = count · (name · count · (session · mode · token)* · count · waiter*)*
/// waiter    = session · mode · requestID · waitMillis · u8 upgrade (0 | 1)
/// tombstones = count · (session · u8 end)*      opens = count · (requestID · session)*
/// ```
///
/// Invariant: `init(decoding:)` is total. It accepts exactly the images of tables that keep
/// every `LockTable` invariant (it checks order, uniqueness, bounds, compatibility of
/// holders, upgrade placement, that no queue head is grantable and no live session has a
/// tombstone) and throws `WireError` for anything else; it never traps.
extension LockTable {
    static let snapshotMagic: UInt16 = 0x4C54 // "LT"
    static let snapshotVersion: UInt8 = 1

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 256 + 64 * (sessions.count + locks.count))
        w.u16(LockTable.snapshotMagic)
        w.u8(LockTable.snapshotVersion)
        w.u16(shard)
        w.varint(appliedIndex)
        for v in [settings.maxTombstones, settings.requestsPerSession, settings.recentOpens] { w.varint(UInt64(v)) }
        for v in [settings.minTTLMillis, settings.maxTTLMillis, settings.maxWaitMillis] { w.varint(v) }

        w.varint(UInt64(sessions.count))
        for id in sessions.keys.sorted() {
            guard let s = sessions[id] else { continue }
            LockCodec.encode(id, into: &w)
            if let ttl = s.ttlMillis { w.u8(1); w.varint(ttl) } else { w.u8(0) }
            let recent = s.recent.entries
            w.varint(UInt64(recent.count))
            for (requestID, reply) in recent { w.string(requestID.text); LockCodec.encode(reply, into: &w) }
        }

        w.varint(UInt64(locks.count))
        for name in locks.keys.sorted() {
            guard let lock = locks[name] else { continue }
            w.string(name.text)
            w.varint(UInt64(lock.holders.count))
            for h in lock.holders { LockCodec.encode(h.session, into: &w); w.u8(h.mode.rawValue); w.varint(h.token.value) }
            w.varint(UInt64(lock.waiters.count))
            for q in lock.waiters {
                LockCodec.encode(q.session, into: &w); w.u8(q.mode.rawValue); w.string(q.requestID.text)
                w.varint(q.waitMillis); w.u8(q.isUpgrade ? 1 : 0)
            }
        }

        let dead = tombstones.entries
        w.varint(UInt64(dead.count))
        for (id, end) in dead { LockCodec.encode(id, into: &w); w.u8(end.rawValue) }
        let opens = recentOpens.entries
        w.varint(UInt64(opens.count))
        for (requestID, id) in opens { w.string(requestID.text); LockCodec.encode(id, into: &w) }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let magic = try r.u16()
        guard magic == LockTable.snapshotMagic else { throw WireError.invalid(field: "lock table magic", reason: "\(magic)") }
        let version = try r.u8()
        guard version == LockTable.snapshotVersion else { throw WireError.invalid(field: "lock table version", reason: "\(version)") }
        let shard = try r.u16()
        let applied = try r.varint()
        var settings = LockTableSettings()
        settings.maxTombstones = try LockTable.bound(&r, "max_tombstones")
        settings.requestsPerSession = try LockTable.bound(&r, "requests_per_session")
        settings.recentOpens = try LockTable.bound(&r, "recent_opens")
        settings.minTTLMillis = try r.varint()
        settings.maxTTLMillis = try r.varint()
        settings.maxWaitMillis = try r.varint()
        do {
            self = try LockTable(shard: shard, settings: settings)
        } catch {
            throw WireError.invalid(field: "lock table settings", reason: error.description)
        }
        appliedIndex = applied
        try decodeSessions(&r)
        try decodeLocks(&r)
        try decodeTombstones(&r)
        try r.expectEnd()
    }

    /// A capacity setting: positive and small enough that nothing sized by it overflows.
    private static func bound(_ r: inout ByteReader, _ field: String) throws(WireError) -> Int {
        let v = try r.varint()
        guard v >= 1, v <= 1 << 32 else { throw WireError.invalid(field: field, reason: "\(v) outside 1…2^32") }
        return Int(v)
    }

    private static func fail(_ field: String, _ reason: String) -> WireError { WireError.invalid(field: field, reason: reason) }

    private mutating func decodeSessions(_ r: inout ByteReader) throws(WireError) {
        var previous: SessionID?
        for _ in 0..<(try r.count("sessions", limit: r.remaining)) {
            let id = try LockCodec.session(&r)
            if let p = previous, !(p < id) { throw LockTable.fail("sessions", "not in strictly increasing order at \(id)") }
            previous = id
            let flag = try r.u8()
            var ttl: UInt64?
            switch flag {
            case 0: ttl = nil
            case 1: ttl = try r.varint()
            default: throw LockTable.fail("session ttl flag", "\(flag)")
            }
            guard (ttl != nil) == (id.home == shard) else { throw LockTable.fail("session \(id)", "ttl present iff at home on shard \(shard)") }
            if let t = ttl, t < settings.minTTLMillis || t > settings.maxTTLMillis || id.index > appliedIndex {
                throw LockTable.fail("session \(id)", "ttl \(t) out of bounds or opened after the applied index")
            }
            var state = SessionState(ttlMillis: ttl, requestCapacity: settings.requestsPerSession)
            for _ in 0..<(try r.count("session requests", limit: min(settings.requestsPerSession, r.remaining))) {
                let requestID = try LockCodec.requestID(&r)
                let reply = try LockCodec.reply(&r)
                if state.recent[requestID] != nil { throw LockTable.fail("session \(id) requests", "request \(requestID) twice") }
                if reply == .waiting || reply == .sessionExpired { throw LockTable.fail("session \(id) requests", "\(reply) is never recorded") }
                state.recent.record(requestID, reply)
            }
            sessions[id] = state
        }
    }

    private mutating func decodeLocks(_ r: inout ByteReader) throws(WireError) {
        var previous: LockName?
        for _ in 0..<(try r.count("locks", limit: r.remaining)) {
            let name = try LockCodec.name(&r)
            if let p = previous, !(p < name) { throw LockTable.fail("locks", "names not in strictly increasing order at \(name)") }
            previous = name
            var lock = LockState()
            for _ in 0..<(try r.count("holders", limit: r.remaining)) {
                let session = try LockCodec.session(&r), mode = try LockCodec.mode(&r), token = try r.varint()
                guard sessions[session] != nil else { throw LockTable.fail("holder of \(name)", "unknown session \(session)") }
                guard lock.holderIndex(of: session) == nil else { throw LockTable.fail("holder of \(name)", "session \(session) twice") }
                guard token >= 1, token <= appliedIndex else { throw LockTable.fail("holder of \(name)", "token \(token) beyond the applied index") }
                guard lock.compatibleWithHolders(session, mode) else { throw LockTable.fail("holders of \(name)", "incompatible modes") }
                lock.holders.append(LockHolder(name: name, session: session, mode: mode, token: FencingToken(token)))
                sessions[session]?.held.insert(name)
            }
            var ordinarySeen = false
            for _ in 0..<(try r.count("waiters", limit: r.remaining)) {
                let session = try LockCodec.session(&r), mode = try LockCodec.mode(&r)
                let requestID = try LockCodec.requestID(&r), wait = try r.varint(), flag = try r.u8()
                guard sessions[session] != nil else { throw LockTable.fail("waiter of \(name)", "unknown session \(session)") }
                guard lock.waiterIndex(of: session) == nil else { throw LockTable.fail("waiter of \(name)", "session \(session) twice") }
                guard wait >= 1, wait <= settings.maxWaitMillis else { throw LockTable.fail("waiter of \(name)", "wait \(wait) ms out of bounds") }
                let holding = lock.holderIndex(of: session).map { lock.holders[$0].mode }
                switch flag {
                case 1:
                    guard holding == .shared, mode == .exclusive, !ordinarySeen else {
                        throw LockTable.fail("waiter of \(name)", "upgrade of \(session) not a queued shared→exclusive ahead of others")
                    }
                case 0:
                    guard holding == nil else { throw LockTable.fail("waiter of \(name)", "\(session) waits for a lock it holds") }
                    ordinarySeen = true
                default: throw LockTable.fail("waiter upgrade flag", "\(flag)")
                }
                lock.waiters.append(LockWaiter(name: name, session: session, mode: mode, requestID: requestID,
                                               waitMillis: wait, isUpgrade: flag == 1))
                sessions[session]?.waiting.insert(name)
            }
            guard !lock.isEmpty else { throw LockTable.fail("lock \(name)", "neither held nor waited for") }
            if let head = lock.waiters.first, lock.compatibleWithHolders(head.session, head.mode) {
                throw LockTable.fail("lock \(name)", "the head of the queue could be granted")
            }
            locks[name] = lock
        }
    }

    private mutating func decodeTombstones(_ r: inout ByteReader) throws(WireError) {
        for _ in 0..<(try r.count("tombstones", limit: min(settings.maxTombstones, r.remaining))) {
            let id = try LockCodec.session(&r)
            let raw = try r.u8()
            guard let end = SessionEnd(rawValue: raw) else { throw LockTable.fail("tombstone end", "\(raw)") }
            guard tombstones[id] == nil, sessions[id] == nil else { throw LockTable.fail("tombstone", "\(id) twice or still live") }
            tombstones.record(id, end)
        }
        for _ in 0..<(try r.count("open requests", limit: min(settings.recentOpens, r.remaining))) {
            let requestID = try LockCodec.requestID(&r)
            let id = try LockCodec.session(&r)
            guard recentOpens[requestID] == nil, id.home == shard, id.index <= appliedIndex else {
                throw LockTable.fail("open request \(requestID)", "repeated, or a session not opened here")
            }
            recentOpens.record(requestID, id)
        }
    }
}
