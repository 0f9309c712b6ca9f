import ChorusBase

/// A queued request as the leader's wait clock names it: which wait to cancel.
public struct PendingWait: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var name: LockName
    public var session: SessionID
    public var requestID: RequestID

    public init(name: LockName, session: SessionID, requestID: RequestID) {
        self.name = name; self.session = session; self.requestID = requestID
    }

    /// The `cancelWait` a leader proposes for it.
    public func cancel(_ reason: CancelReason) -> LockCommand {
        .cancelWait(name: name, session: session, requestID: requestID, reason: reason)
    }

    public static func < (a: PendingWait, b: PendingWait) -> Bool {
        if a.name != b.name { return a.name < b.name }
        if a.session != b.session { return a.session < b.session }
        return a.requestID < b.requestID
    }

    public var description: String { "\(session) on \(name) (\(requestID))" }
}

/// The shard leader's clock for queued acquires: each wait's deadline, so that it can propose
/// `cancelWait(.timeout)` when it passes — the backstop behind deadlock detection. Soft
/// state: a new leader calls `becameLeader` with the table's waiters and gives each its full
/// wait again from then (a wait can only get longer by a failover, never cut short).
///
/// Invariants: one deadline per (name, session) — a session has at most one pending request
/// per name; `due(at:)` reports in `(deadline, name, session)` order and repeats a wait every
/// `settings.reproposeAfter` until it is forgotten.
public struct WaitDeadlines: Sendable {
    struct Key: Hashable, Comparable, Sendable {
        var name: LockName
        var session: SessionID
        static func < (a: Key, b: Key) -> Bool { a.name != b.name ? a.name < b.name : a.session < b.session }
    }

    public let settings: LeaderClockSettings
    private var requests: [Key: RequestID] = [:]
    private var queue = DeadlineQueue<Key>()

    public init(settings: LeaderClockSettings = LeaderClockSettings()) throws(LockSettingsError) {
        try settings.validate()
        self.settings = settings
    }

    public var count: Int { requests.count }
    public var nextDeadline: Instant? { queue.first?.at }

    public func deadline(of name: LockName, session: SessionID) -> Instant? {
        queue.deadline(of: Key(name: name, session: session))
    }

    /// On winning leadership: every queued request (`LockTable.allWaiters()`) gets its full
    /// wait from `now`.
    public mutating func becameLeader(waits: [LockWaiter], now: Instant) {
        requests.removeAll(); queue.removeAll()
        for w in waits { register(w.name, session: w.session, requestID: w.requestID, waitMillis: w.waitMillis, now: now) }
    }

    /// An acquire was queued (its apply replied `.waiting`) while this node leads.
    public mutating func register(_ name: LockName, session: SessionID, requestID: RequestID, waitMillis: UInt64, now: Instant) {
        let key = Key(name: name, session: session)
        requests[key] = requestID
        queue.schedule(key, at: now + .lockMillis(waitMillis))
    }

    /// The wait ended: granted, cancelled, withdrawn, or its session gone.
    public mutating func forget(_ name: LockName, session: SessionID) {
        let key = Key(name: name, session: session)
        requests[key] = nil
        queue.remove(key)
    }

    /// Forgets every wait a notification settled (a convenience for drivers).
    public mutating func forget(settledBy notifications: [LockNotification]) {
        for n in notifications { forget(n.name, session: n.session) }
    }

    /// Waits whose deadline passed by `now`, for `cancelWait(.timeout)` proposals.
    public mutating func due(at now: Instant) -> [PendingWait] {
        var out: [PendingWait] = []
        for (_, key) in queue.popDue(at: now) {
            guard let requestID = requests[key] else { continue }
            out.append(PendingWait(name: key.name, session: key.session, requestID: requestID))
            queue.schedule(key, at: now + settings.reproposeAfter)
        }
        return out
    }
}
