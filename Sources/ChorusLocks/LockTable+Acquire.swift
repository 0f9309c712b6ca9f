/// `acquire`: grant, queue, or refuse; re-acquire and upgrade rules.
///
/// Re-acquiring a name the session holds:
/// - in the mode held, or shared while holding exclusive → the existing grant is returned
///   (same mode, same token); nothing changes;
/// - exclusive while holding shared (an upgrade) → granted at once, with a new token, when no
///   other session holds the name and no earlier upgrade waits; otherwise queued ahead of
///   ordinary waiters, keeping the shared hold (or `.busy` for a try-lock). Two shared holders
///   that both upgrade wait for each other: a real deadlock, left to the detector.
/// A session that already waits for the name and asks again with another request id gets
/// `.invalid` (one pending request per session and name).
extension LockTable {
    mutating func acquire(_ name: LockName, session: SessionID, mode: LockMode, waitMillis: UInt64,
                          requestID: RequestID, index: UInt64) -> LockApplyResult {
        guard isAlive(session) else { return LockApplyResult(reply: .sessionExpired) }
        touch(session)
        if let lock = locks[name], let w = lock.waiterIndex(of: session), lock.waiters[w].requestID == requestID {
            return LockApplyResult(reply: .waiting)
        }
        if let done = sessions[session]?.recent[requestID] { return LockApplyResult(reply: done) }
        let reply = decideAcquire(name, session: session, mode: mode, waitMillis: waitMillis, requestID: requestID, index: index)
        if reply != .waiting { record(reply, for: requestID, of: session) }
        return LockApplyResult(reply: reply)
    }

    private mutating func decideAcquire(_ name: LockName, session: SessionID, mode: LockMode, waitMillis: UInt64,
                                        requestID: RequestID, index: UInt64) -> LockReply {
        guard waitMillis <= settings.maxWaitMillis else {
            return .invalid("wait \(waitMillis) ms exceeds \(settings.maxWaitMillis) ms")
        }
        var lock = locks[name] ?? LockState()
        let token = FencingToken(index)
        let held = lock.holderIndex(of: session)
        if let h = held, lock.holders[h].mode == .exclusive || mode == .shared {
            return .granted(name, lock.holders[h].mode, lock.holders[h].token)
        }
        if let w = lock.waiterIndex(of: session) {
            return .invalid("already waiting for \(name) (request \(lock.waiters[w].requestID))")
        }
        if let h = held {
            if lock.canUpgrade(session) {
                lock.holders[h].mode = .exclusive
                lock.holders[h].token = token
                store(lock, for: name)
                return .granted(name, .exclusive, token)
            }
        } else if lock.canGrantNew(session, mode) {
            lock.holders.append(LockHolder(name: name, session: session, mode: mode, token: token))
            sessions[session]?.held.insert(name)
            store(lock, for: name)
            return .granted(name, mode, token)
        }
        if waitMillis == 0 { return .busy }
        lock.enqueue(LockWaiter(name: name, session: session, mode: mode, requestID: requestID,
                                waitMillis: waitMillis, isUpgrade: held != nil))
        sessions[session]?.waiting.insert(name)
        store(lock, for: name)
        return .waiting
    }
}
