/// Session lifecycle: open, close/expire on the home shard, drop on every shard.
extension LockTable {
    mutating func openSession(ttlMillis: UInt64, openedAtMillis: UInt64, requestID: RequestID, index: UInt64) -> LockReply {
        if let id = recentOpens[requestID] { return .sessionOpened(id) }
        guard ttlMillis >= settings.minTTLMillis, ttlMillis <= settings.maxTTLMillis else {
            return .invalid("ttl \(ttlMillis) ms outside \(settings.minTTLMillis)…\(settings.maxTTLMillis) ms")
        }
        let id = SessionID(home: shard, index: index, openedAtMillis: openedAtMillis)
        sessions[id] = SessionState(ttlMillis: ttlMillis, requestCapacity: settings.requestsPerSession)
        recentOpens.record(requestID, id)
        return .sessionOpened(id)
    }

    /// `closeSession` and `expireSession`: only on the session's home shard.
    mutating func endHomeSession(_ id: SessionID, as end: SessionEnd, index: UInt64) -> LockApplyResult {
        guard id.home == shard else { return LockApplyResult(reply: .invalid("session \(id) is at home on shard \(id.home), not \(shard)")) }
        guard sessions[id]?.ttlMillis != nil else {
            // Gone already: a retried close of a closed session still succeeds.
            return LockApplyResult(reply: end == .closed && tombstones[id] == .closed ? .sessionEnded : .sessionExpired)
        }
        var notes: [LockNotification] = []
        endSession(id, as: end, index: index, into: &notes)
        return LockApplyResult(reply: .sessionEnded, notifications: notes)
    }

    mutating func dropSession(_ id: SessionID, index: UInt64) -> LockApplyResult {
        if id.home == shard && sessions[id]?.ttlMillis != nil {
            return LockApplyResult(reply: .invalid("session \(id) is open on its home shard; close or expire it there"))
        }
        var notes: [LockNotification] = []
        endSession(id, as: .dropped, index: index, into: &notes)
        return LockApplyResult(reply: .sessionEnded, notifications: notes)
    }

    /// Releases the session's holds and fails its waits on this shard (names in byte order),
    /// promotes the waiters that frees, forgets the session and records its tombstone.
    mutating func endSession(_ id: SessionID, as how: SessionEnd, index: UInt64, into notes: inout [LockNotification]) {
        if tombstones[id] == nil { tombstones.record(id, how) }
        guard let state = sessions.removeValue(forKey: id) else { return }
        for name in state.held.union(state.waiting).sorted() {
            guard var lock = locks[name] else { continue }
            if let w = lock.waiterIndex(of: id) {
                let waiter = lock.waiters.remove(at: w)
                notes.append(.waitFailed(session: id, name: name, requestID: waiter.requestID, reason: .sessionExpired))
            }
            lock.holders.removeAll { $0.session == id }
            promote(name, &lock, index: index, into: &notes)
            store(lock, for: name)
        }
    }
}
