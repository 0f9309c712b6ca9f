import ChorusWire

/// The lock service's part of one shard's replicated state machine: sessions at home here,
/// the holders and FIFO queues of every lock name on this shard, and what exactly-once
/// retries need. Pure and deterministic: no clock, no I/O, no hash-order decisions; time
/// reaches it only inside commands (`openedAtMillis`), and expiry only as `expireSession`
/// entries proposed by the leader (`SessionLeases`).
///
/// Invariants (checked by the randomized safety test after every apply):
/// - per name, holders are one exclusive holder alone or shared holders only;
/// - a new grant's fencing token is the index of the entry that made it, so tokens of
///   successive grants of a name strictly increase;
/// - a session waits for a name it holds only as an upgrade (shared held, exclusive asked);
/// - the queue's head is never grantable after an apply (promotion is eager);
/// - equal tables applying equal commands at equal indices stay equal and reply equally.
public struct LockTable: Hashable, Sendable {
    /// The shard this table belongs to: sessions with `home == shard` open and close here.
    public let shard: UInt16
    public let settings: LockTableSettings
    /// The index of the last entry applied (0 before any).
    public internal(set) var appliedIndex: UInt64 = 0

    var sessions: [SessionID: SessionState] = [:]
    var locks: [LockName: LockState] = [:]
    var tombstones: BoundedLedger<SessionID, SessionEnd>
    var recentOpens: BoundedLedger<RequestID, SessionID>

    public init(shard: UInt16, settings: LockTableSettings = LockTableSettings()) throws(LockSettingsError) {
        try settings.validate()
        self.shard = shard
        self.settings = settings
        self.tombstones = BoundedLedger(capacity: settings.maxTombstones)
        self.recentOpens = BoundedLedger(capacity: settings.recentOpens)
    }

    /// Applies one committed entry. `index` is its Raft index; entries must come in log order
    /// (a programmer error otherwise, which traps).
    public mutating func apply(_ command: LockCommand, index: UInt64) -> LockApplyResult {
        precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
        appliedIndex = index
        switch command {
        case let .openSession(ttl, openedAt, requestID):
            return LockApplyResult(reply: openSession(ttlMillis: ttl, openedAtMillis: openedAt, requestID: requestID, index: index))
        case let .closeSession(session, _):
            return endHomeSession(session, as: .closed, index: index)
        case let .expireSession(session):
            return endHomeSession(session, as: .expired, index: index)
        case let .dropSession(session):
            return dropSession(session, index: index)
        case let .acquire(name, session, mode, waitMillis, requestID):
            return acquire(name, session: session, mode: mode, waitMillis: waitMillis, requestID: requestID, index: index)
        case let .release(name, session, requestID):
            return release(name, session: session, requestID: requestID, index: index)
        case let .cancelWait(name, session, requestID, reason):
            return cancelWait(name, session: session, requestID: requestID, failure: reason.failure, index: index)
        }
    }

    /// Applies an entry's payload as it came out of the log: undecodable bytes are answered
    /// with `.invalid` and change nothing but `appliedIndex` (every replica decodes alike).
    public mutating func apply(encoded bytes: [UInt8], index: UInt64) -> LockApplyResult {
        do {
            return apply(try LockCodec.decodeCommand(bytes), index: index)
        } catch {
            precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
            appliedIndex = index
            return LockApplyResult(reply: .invalid("undecodable command: \(error)"))
        }
    }

    // MARK: shared steps

    /// Whether `session` may act on this shard: open here if its home is here, else not known
    /// to be dead.
    func isAlive(_ session: SessionID) -> Bool {
        if session.home == shard { return sessions[session]?.ttlMillis != nil }
        return tombstones[session] == nil
    }

    /// The state of a live session, created for a session of another shard on first use.
    mutating func touch(_ session: SessionID) {
        if sessions[session] == nil {
            sessions[session] = SessionState(ttlMillis: nil, requestCapacity: settings.requestsPerSession)
        }
    }

    /// Remembers a request's final reply for retries.
    mutating func record(_ reply: LockReply, for requestID: RequestID, of session: SessionID) {
        sessions[session]?.recent.record(requestID, reply)
    }

    /// Stores `state` back under `name`, or removes the name when nobody holds or waits.
    mutating func store(_ state: LockState, for name: LockName) {
        locks[name] = state.isEmpty ? nil : state
    }

    /// Promotes waiters of `name` after a change, with the token of entry `index`, and keeps
    /// the sessions' derived sets and request records in step.
    mutating func promote(_ name: LockName, _ state: inout LockState, index: UInt64, into notes: inout [LockNotification]) {
        let token = FencingToken(index)
        for w in state.promote(token: token) {
            sessions[w.session]?.waiting.remove(name)
            sessions[w.session]?.held.insert(name)
            let mode: LockMode = w.isUpgrade ? .exclusive : w.mode
            record(.granted(name, mode, token), for: w.requestID, of: w.session)
            notes.append(.granted(session: w.session, name: name, mode: mode, requestID: w.requestID, token: token))
        }
    }
}
