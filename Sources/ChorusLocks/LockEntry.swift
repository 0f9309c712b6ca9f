/// One holder of a lock, as the read views show it. Invariant: `token` is the index of the
/// entry that granted this hold in this mode.
public struct LockHolder: Hashable, Sendable {
    public var name: LockName
    public var session: SessionID
    public var mode: LockMode
    public var token: FencingToken

    public init(name: LockName, session: SessionID, mode: LockMode, token: FencingToken) {
        self.name = name; self.session = session; self.mode = mode; self.token = token
    }
}

/// One queued acquire. Invariant: `isUpgrade` ⇔ the session holds the lock shared and waits
/// for exclusive.
public struct LockWaiter: Hashable, Sendable {
    public var name: LockName
    public var session: SessionID
    public var mode: LockMode
    public var requestID: RequestID
    /// The wait the acquire asked for; a leader that takes over gives every wait this long
    /// again from its own start (`WaitDeadlines.becameLeader`).
    public var waitMillis: UInt64
    public var isUpgrade: Bool

    public init(name: LockName, session: SessionID, mode: LockMode, requestID: RequestID, waitMillis: UInt64, isUpgrade: Bool) {
        self.name = name; self.session = session; self.mode = mode
        self.requestID = requestID; self.waitMillis = waitMillis; self.isUpgrade = isUpgrade
    }
}

/// A session's live state on a shard as the read views show it: `ttlMillis` is set for
/// sessions at home on this shard (open ones), nil for sessions of other shards that this
/// shard only knows from their requests.
public struct SessionInfo: Hashable, Sendable {
    public var id: SessionID
    public var ttlMillis: UInt64?

    public init(id: SessionID, ttlMillis: UInt64?) { self.id = id; self.ttlMillis = ttlMillis }
}

/// How a session ended, as a tombstone remembers it. Invariant: raw values are the wire
/// encoding.
enum SessionEnd: UInt8, Hashable, Sendable {
    case closed = 1, expired = 2, dropped = 3
}
