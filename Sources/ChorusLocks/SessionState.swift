/// What a shard keeps about one live session.
///
/// Invariants: `ttlMillis != nil` ⇔ the session's home is this shard (an open session there);
/// `held` and `waiting` are exactly the names whose `LockState` lists the session as holder
/// or waiter (derived, rebuilt on snapshot restore); `recent` holds at most
/// `LockTableSettings.requestsPerSession` finished requests and goes with the session.
struct SessionState: Hashable, Sendable {
    var ttlMillis: UInt64?
    var recent: BoundedLedger<RequestID, LockReply>
    var held: Set<LockName> = []
    var waiting: Set<LockName> = []

    init(ttlMillis: UInt64?, requestCapacity: Int) {
        self.ttlMillis = ttlMillis
        self.recent = BoundedLedger(capacity: requestCapacity)
    }
}

extension BoundedLedger: Hashable where Value: Hashable {
    func hash(into hasher: inout Hasher) {
        hasher.combine(capacity)
        for e in entries { hasher.combine(e.key); hasher.combine(e.value) }
    }
}
