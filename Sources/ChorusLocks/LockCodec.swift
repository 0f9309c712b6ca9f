import ChorusWire

/// The binary form of lock commands (Raft entry payloads) and of the values the table
/// snapshot shares with them. Integers are varints unless a width is given; strings are a
/// varint length then UTF-8.
///
/// ```
/// command   = version u8 = 1 · kind u8 · body
/// 1 openSession    ttlMillis · openedAtMillis · requestID
/// 2 closeSession   session · requestID
/// 3 expireSession  session
/// 4 dropSession    session
/// 5 acquire        name · session · mode u8 · waitMillis · requestID
/// 6 release        name · session · requestID
/// 7 cancelWait     name · session · requestID · reason u8 (1 timeout, 2 deadlock)
/// session   = home u16 · index · openedAtMillis
/// mode      = 1 exclusive | 2 shared
/// reply     = kind u8 · body (see `encode(_ reply:)`)
/// ```
///
/// Invariant: `decodeCommand` is total — any bytes give a command whose names and request
/// ids pass their validation, or a `WireError`; it never traps and allocates no more than
/// the input's own length.
public enum LockCodec {
    public static let version: UInt8 = 1

    enum CommandKind: UInt8 {
        case openSession = 1, closeSession, expireSession, dropSession, acquire, release, cancelWait
    }

    // MARK: commands

    public static func encode(_ command: LockCommand) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u8(version)
        switch command {
        case let .openSession(ttl, openedAt, requestID):
            w.u8(CommandKind.openSession.rawValue)
            w.varint(ttl); w.varint(openedAt); w.string(requestID.text)
        case let .closeSession(session, requestID):
            w.u8(CommandKind.closeSession.rawValue)
            encode(session, into: &w); w.string(requestID.text)
        case let .expireSession(session):
            w.u8(CommandKind.expireSession.rawValue)
            encode(session, into: &w)
        case let .dropSession(session):
            w.u8(CommandKind.dropSession.rawValue)
            encode(session, into: &w)
        case let .acquire(name, session, mode, waitMillis, requestID):
            w.u8(CommandKind.acquire.rawValue)
            w.string(name.text); encode(session, into: &w); w.u8(mode.rawValue); w.varint(waitMillis); w.string(requestID.text)
        case let .release(name, session, requestID):
            w.u8(CommandKind.release.rawValue)
            w.string(name.text); encode(session, into: &w); w.string(requestID.text)
        case let .cancelWait(name, session, requestID, reason):
            w.u8(CommandKind.cancelWait.rawValue)
            w.string(name.text); encode(session, into: &w); w.string(requestID.text); w.u8(reason.rawValue)
        }
        return w.bytes
    }

    public static func decodeCommand(_ bytes: [UInt8]) throws(WireError) -> LockCommand {
        var r = ByteReader(bytes)
        let v = try r.u8()
        guard v == version else { throw WireError.invalid(field: "lock command version", reason: "\(v)") }
        let k = try r.u8()
        guard let kind = CommandKind(rawValue: k) else { throw WireError.invalid(field: "lock command kind", reason: "\(k)") }
        let command: LockCommand
        switch kind {
        case .openSession:
            let ttl = try r.varint(), openedAt = try r.varint()
            command = .openSession(ttlMillis: ttl, openedAtMillis: openedAt, requestID: try requestID(&r))
        case .closeSession:
            let session = try self.session(&r)
            command = .closeSession(session, requestID: try requestID(&r))
        case .expireSession:
            command = .expireSession(try session(&r))
        case .dropSession:
            command = .dropSession(try session(&r))
        case .acquire:
            let name = try self.name(&r), session = try self.session(&r), mode = try self.mode(&r)
            let wait = try r.varint()
            command = .acquire(name: name, session: session, mode: mode, waitMillis: wait, requestID: try requestID(&r))
        case .release:
            let name = try self.name(&r), session = try self.session(&r)
            command = .release(name: name, session: session, requestID: try requestID(&r))
        case .cancelWait:
            let name = try self.name(&r), session = try self.session(&r), id = try requestID(&r)
            let raw = try r.u8()
            guard let reason = CancelReason(rawValue: raw) else { throw WireError.invalid(field: "cancel reason", reason: "\(raw)") }
            command = .cancelWait(name: name, session: session, requestID: id, reason: reason)
        }
        try r.expectEnd()
        return command
    }

    // MARK: shared fields

    static func encode(_ s: SessionID, into w: inout ByteWriter) {
        w.u16(s.home); w.varint(s.index); w.varint(s.openedAtMillis)
    }

    static func session(_ r: inout ByteReader) throws(WireError) -> SessionID {
        let home = try r.u16(), index = try r.varint(), opened = try r.varint()
        return SessionID(home: home, index: index, openedAtMillis: opened)
    }

    static func name(_ r: inout ByteReader) throws(WireError) -> LockName {
        let text = try r.string("lock name", limit: LockName.maxBytes)
        do { return try LockName(text) } catch { throw WireError.invalid(field: "lock name", reason: error.description) }
    }

    static func requestID(_ r: inout ByteReader) throws(WireError) -> RequestID {
        let text = try r.string("request id", limit: RequestID.maxBytes)
        do { return try RequestID(text) } catch { throw WireError.invalid(field: "request id", reason: error.description) }
    }

    static func mode(_ r: inout ByteReader) throws(WireError) -> LockMode {
        let raw = try r.u8()
        guard let mode = LockMode(rawValue: raw) else { throw WireError.invalid(field: "lock mode", reason: "\(raw)") }
        return mode
    }

    // MARK: replies (kept in the snapshot's per-session request records)

    /// Longest `.invalid` message kept in a snapshot.
    static let maxReasonBytes = 1024

    static func encode(_ reply: LockReply, into w: inout ByteWriter) {
        switch reply {
        case let .sessionOpened(id): w.u8(1); encode(id, into: &w)
        case .sessionEnded: w.u8(2)
        case .sessionExpired: w.u8(3)
        case let .granted(name, mode, token): w.u8(4); w.string(name.text); w.u8(mode.rawValue); w.varint(token.value)
        case .waiting: w.u8(5)
        case .busy: w.u8(6)
        case .released: w.u8(7)
        case .notHeld: w.u8(8)
        case .waitCancelled: w.u8(9)
        case .notWaiting: w.u8(10)
        case let .waitFailed(why): w.u8(11); w.u8(why.rawValue)
        case let .invalid(why): w.u8(12); w.string(String(decoding: why.utf8.prefix(maxReasonBytes), as: UTF8.self))
        }
    }

    static func reply(_ r: inout ByteReader) throws(WireError) -> LockReply {
        let kind = try r.u8()
        switch kind {
        case 1: return .sessionOpened(try session(&r))
        case 2: return .sessionEnded
        case 3: return .sessionExpired
        case 4:
            let name = try self.name(&r), mode = try self.mode(&r)
            return .granted(name, mode, FencingToken(try r.varint()))
        case 5: return .waiting
        case 6: return .busy
        case 7: return .released
        case 8: return .notHeld
        case 9: return .waitCancelled
        case 10: return .notWaiting
        case 11:
            let raw = try r.u8()
            guard let why = WaitFailure(rawValue: raw) else { throw WireError.invalid(field: "wait failure", reason: "\(raw)") }
            return .waitFailed(why)
        case 12: return .invalid(try r.string("invalid reason", limit: maxReasonBytes + 3))
        default: throw WireError.invalid(field: "reply kind", reason: "\(kind)")
        }
    }
}
