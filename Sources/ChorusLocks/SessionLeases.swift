import ChorusBase

/// The home-shard leader's lease clock: when each open session expires unless kept alive.
/// Soft state, never replicated: only the leader decides expiry, and it does so by proposing
/// `expireSession`, which every replica then applies at the same log position.
///
/// Failover: a new leader does not know when sessions last kept alive, so `becameLeader`
/// gives every open session a full TTL from the moment it took over — it extends leases
/// instead of expiring them en masse (etcd's lessor `Promote`, Chubby's grace period).
///
/// Invariants: at most one deadline per session; a session whose deadline has passed is
/// never revived by a keep-alive (once the leader may have proposed its expiry, the client
/// must not be told it is alive); `expired(at:)` reports in `(deadline, SessionID)` order.
public struct SessionLeases: Sendable {
    public let settings: LeaderClockSettings
    private var ttl: [SessionID: Interval] = [:]
    private var due: Set<SessionID> = []
    private var queue = DeadlineQueue<SessionID>()

    public init(settings: LeaderClockSettings = LeaderClockSettings()) throws(LockSettingsError) {
        try settings.validate()
        self.settings = settings
    }

    /// Sessions the leader keeps a clock for.
    public var count: Int { ttl.count }

    /// The earliest instant at which `expired(at:)` has something to say, if any.
    public var nextDeadline: Instant? { queue.first?.at }

    /// When the session expires (or is reported again, once due), if tracked.
    public func deadline(of session: SessionID) -> Instant? { queue.deadline(of: session) }

    /// On winning leadership: forget everything and give every open session (from
    /// `LockTable.homeSessions()`) a full TTL plus `grace` from `now`. The grace covers the
    /// old leader's possible tenure: a keep-alive it confirmed just before losing its quorum
    /// promised the client a TTL from then, and an election (plus clock drift) may pass
    /// before this leader took over. The driver passes the longest election timeout plus
    /// its drift allowance (docs/locks.md, "Leases across a change of leader").
    public mutating func becameLeader(sessions: [SessionInfo], now: Instant, grace: Interval = .zero) {
        ttl.removeAll(); due.removeAll(); queue.removeAll()
        for s in sessions { if let t = s.ttlMillis { opened(s.id, ttlMillis: t, now: now, grace: grace) } }
    }

    /// A session was opened (its `openSession` entry applied on the leader); `grace` extends
    /// its first deadline only (a session adopted soon after a takeover keeps what is left of
    /// the takeover's grace).
    public mutating func opened(_ session: SessionID, ttlMillis: UInt64, now: Instant, grace: Interval = .zero) {
        let t = Interval.lockMillis(ttlMillis)
        ttl[session] = t
        due.remove(session)
        queue.schedule(session, at: now + t + max(.zero, grace))
    }

    /// A keep-alive: the session lives a full TTL from `now`. False when the session is not
    /// tracked or its deadline has already passed; the client must then treat the session
    /// as lost.
    public mutating func keepAlive(_ session: SessionID, now: Instant) -> Bool {
        guard let t = ttl[session], !due.contains(session), let d = queue.deadline(of: session), now < d else { return false }
        queue.schedule(session, at: now + t)
        return true
    }

    /// Sessions whose lease ran out by `now`, for `expireSession` proposals, earliest deadline
    /// first (ties in `SessionID` order). Each is reported again every
    /// `settings.reproposeAfter` until `forget` is called for it.
    public mutating func expired(at now: Instant) -> [SessionID] {
        var out: [SessionID] = []
        for (_, session) in queue.popDue(at: now) {
            out.append(session)
            due.insert(session)
            queue.schedule(session, at: now + settings.reproposeAfter)
        }
        return out
    }

    /// The session ended (its `closeSession` or `expireSession` entry applied).
    public mutating func forget(_ session: SessionID) {
        ttl[session] = nil
        due.remove(session)
        queue.remove(session)
    }
}
