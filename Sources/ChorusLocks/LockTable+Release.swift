/// `release` (by the client) and `cancelWait` (by the leader), each promoting the waiters
/// the change lets through, with the token of the entry applied.
extension LockTable {
    /// Gives up the session's hold of `name` and withdraws its pending wait there (a queued
    /// upgrade, or a plain wait the client no longer wants); the withdrawn wait is answered
    /// with `.waitFailed(.withdrawn)`. `.notHeld` when there was neither.
    mutating func release(_ name: LockName, session: SessionID, requestID: RequestID, index: UInt64) -> LockApplyResult {
        guard isAlive(session) else { return LockApplyResult(reply: .sessionExpired) }
        touch(session)
        if let done = sessions[session]?.recent[requestID] { return LockApplyResult(reply: done) }
        guard var lock = locks[name], lock.holderIndex(of: session) != nil || lock.waiterIndex(of: session) != nil else {
            record(.notHeld, for: requestID, of: session)
            return LockApplyResult(reply: .notHeld)
        }
        var notes: [LockNotification] = []
        if let w = lock.waiterIndex(of: session) {
            let waiter = lock.waiters.remove(at: w)
            sessions[session]?.waiting.remove(name)
            record(.waitFailed(.withdrawn), for: waiter.requestID, of: session)
            notes.append(.waitFailed(session: session, name: name, requestID: waiter.requestID, reason: .withdrawn))
        }
        if let h = lock.holderIndex(of: session) {
            lock.holders.remove(at: h)
            sessions[session]?.held.remove(name)
        }
        promote(name, &lock, index: index, into: &notes)
        store(lock, for: name)
        record(.released, for: requestID, of: session)
        return LockApplyResult(reply: .released, notifications: notes)
    }

    /// Fails the wait `(name, session, requestID)` if it is still queued; a stale cancel (the
    /// wait was granted or ended meanwhile, or a newer request replaced it) does nothing.
    mutating func cancelWait(_ name: LockName, session: SessionID, requestID: RequestID, failure: WaitFailure,
                             index: UInt64) -> LockApplyResult {
        guard var lock = locks[name], let w = lock.waiterIndex(of: session), lock.waiters[w].requestID == requestID else {
            return LockApplyResult(reply: .notWaiting)
        }
        lock.waiters.remove(at: w)
        sessions[session]?.waiting.remove(name)
        record(.waitFailed(failure), for: requestID, of: session)
        var notes: [LockNotification] = [.waitFailed(session: session, name: name, requestID: requestID, reason: failure)]
        promote(name, &lock, index: index, into: &notes)
        store(lock, for: name)
        return LockApplyResult(reply: .waitCancelled, notifications: notes)
    }
}
