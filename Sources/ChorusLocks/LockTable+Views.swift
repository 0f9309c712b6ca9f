/// Read-only views of the table, every one in a deterministic order.
extension LockTable {
    /// Holders of `name` in grant order.
    public func holders(of name: LockName) -> [LockHolder] { locks[name]?.holders ?? [] }

    /// Waiters of `name` in queue order (upgrades first).
    public func waiters(of name: LockName) -> [LockWaiter] { locks[name]?.waiters ?? [] }

    /// Every queued request on this shard: names in byte order, each in queue order.
    public func allWaiters() -> [LockWaiter] {
        locks.keys.sorted().flatMap { locks[$0]?.waiters ?? [] }
    }

    /// Names held or waited for whose bytes begin with `prefix`, in byte order.
    public func names(withPrefix prefix: String = "") -> [LockName] {
        locks.keys.filter { $0.hasBytePrefix(prefix) }.sorted()
    }

    /// Live sessions this shard knows: open sessions at home here (with their TTL) and
    /// sessions of other shards seen in requests here; in `SessionID` order.
    public func knownSessions() -> [SessionInfo] {
        sessions.keys.sorted().map { SessionInfo(id: $0, ttlMillis: sessions[$0]?.ttlMillis) }
    }

    /// One live session this shard knows, in O(1): its TTL if it is at home here, nil TTL if
    /// it belongs to another shard; nil if unknown.
    public func session(_ id: SessionID) -> SessionInfo? {
        sessions[id].map { SessionInfo(id: id, ttlMillis: $0.ttlMillis) }
    }

    /// Open sessions at home on this shard, for `SessionLeases.becameLeader`.
    public func homeSessions() -> [SessionInfo] { knownSessions().filter { $0.ttlMillis != nil } }

    /// Whether the session is known here to have ended (its tombstone is still kept).
    public func isDead(_ session: SessionID) -> Bool { tombstones[session] != nil }

    /// The names a live session holds here, in byte order.
    public func names(heldBy session: SessionID) -> [LockName] { sessions[session]?.held.sorted() ?? [] }

    /// This shard's part of the wait-for graph, sorted, for the deadlock detector. Not every
    /// waiter → blocker pair is listed: a waiter points at the nearest blockers and reaches the
    /// others through them (`LockState.waitsFor`), which keeps a lock with k waiters at O(k)
    /// edges and leaves the graph's cycles unchanged.
    public func waitEdges() -> [WaitEdge] {
        var edges: [WaitEdge] = []
        for name in locks.keys.sorted() {
            guard let lock = locks[name] else { continue }
            for (position, w) in lock.waiters.enumerated() {
                for blocker in lock.waitsFor(ofWaiterAt: position) {
                    edges.append(WaitEdge(waiter: w.session, blocker: blocker, name: name, requestID: w.requestID))
                }
            }
        }
        return edges.sorted()
    }
}
