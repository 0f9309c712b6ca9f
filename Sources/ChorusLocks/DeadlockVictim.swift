/// The wait a deadlock detector fails to break a cycle: `session`'s pending request
/// `requestID` for `name`, queued on `shard`. Invariant: the session is the youngest of its
/// cycle and this wait is one of the cycle's edges.
public struct DeadlockVictim: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var session: SessionID
    public var name: LockName
    public var requestID: RequestID
    public var shard: UInt16

    public init(session: SessionID, name: LockName, requestID: RequestID, shard: UInt16) {
        self.session = session; self.name = name; self.requestID = requestID; self.shard = shard
    }

    /// The command the leader of `shard` proposes.
    public var cancel: LockCommand { .cancelWait(name: name, session: session, requestID: requestID, reason: .deadlock) }

    public static func < (a: DeadlockVictim, b: DeadlockVictim) -> Bool {
        if a.session != b.session { return a.session < b.session }
        if a.shard != b.shard { return a.shard < b.shard }
        if a.name != b.name { return a.name < b.name }
        return a.requestID < b.requestID
    }

    public var description: String { "\(session) on \(name)@\(shard) (\(requestID))" }
}

/// What one detection pass decided. Invariant: `victims` and `refresh` are sorted; no
/// victim's session is in a cycle with another victim's of the same pass.
public struct DetectionRound: Hashable, Sendable {
    /// Waits to fail with `cancelWait(.deadlock)`, one per cycle (strongly connected set).
    public var victims: [DeadlockVictim]
    /// Shards to ask for a fresh report now, carrying `epoch`: they take part in a cross-shard
    /// cycle that awaits confirmation.
    public var refresh: [UInt16]
    /// The epoch those shards must echo in their next report.
    public var epoch: UInt64
}
