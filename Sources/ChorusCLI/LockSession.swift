import Foundation
import Synchronization
import ChorusBase
import ChorusRuntime

/// A lock session kept open by a background keep-alive thread, judged by Chubby's local-lease
/// rule (docs/locks.md, Sessions): the client takes the session — and every lock in it — for
/// lost once its TTL has passed since the *sending* of the last acknowledged keep-alive (or of
/// the open). The agent measures the lease from when that request reached it, which is no
/// earlier, so while this client believes it holds a lock the agent does too (clock rates
/// aside).
///
/// Keep-alives go every ttl/3, as etcd's lease keep-alive does, so two in a row may fail
/// before the lease runs out; a failed one is retried every ttl/10. The session is lost at
/// once when the agent refuses a keep-alive (`404 session_expired`: it has expired the
/// session, or never knew it).
///
/// Invariant: `lostReason` never goes back to nil once set; `onLost` is called at most once.
final class LockSession: @unchecked Sendable {
    let id: String
    /// The TTL the agent granted (it may clamp the one asked for).
    let ttl: Interval
    private let api: LockAPI
    private let onLost: @Sendable () -> Void
    private let wakeup = DispatchSemaphore(value: 0)

    private struct State {
        var leaseEnd: Instant
        var lost: String?
        var lastError: String?
        var stopped = false
    }
    private let state: Mutex<State>

    private init(id: String, ttl: Interval, leaseEnd: Instant, api: LockAPI, onLost: @escaping @Sendable () -> Void) {
        self.id = id
        self.ttl = ttl
        self.api = api
        self.onLost = onLost
        self.state = Mutex(State(leaseEnd: leaseEnd))
    }

    /// Opens a session of `ttl` (its request id makes a retry inside the agent harmless).
    static func open(_ api: LockAPI, ttl: Interval, onLost: @escaping @Sendable () -> Void) throws(CommandFailure) -> LockSession {
        let sent = MonotonicClock.now()
        switch api.openSession(ttl: ttl, requestID: LockAPI.newRequestID("open")) {
        case let .ok(response):
            guard let grant = try? response.decodeJSON(SessionGrant.self), !grant.id.isEmpty else {
                throw CommandFailure("agent at \(api.address) answered the session open with something that is not a session")
            }
            let granted = Interval.milliseconds(Int64(min(grant.ttlMillis, UInt64(Int64.max / 4_000_000))))
            return LockSession(id: grant.id, ttl: granted, leaseEnd: sent + granted, api: api, onLost: onLost)
        case let .refused(r):
            throw CommandFailure("agent at \(api.address) refused to open a session: \(r)")
        case let .unsettled(why):
            throw CommandFailure("cannot open a session: \(why)")
        }
    }

    /// Starts the keep-alive thread.
    func startKeepAlive() {
        Thread.detachNewThread { [self] in keepAliveLoop() }
    }

    /// Stops the keep-alive thread (the session stays open on the agent until closed or expired).
    func stop() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    /// Stops keep-alives and closes the session on the agent, which releases its locks and
    /// fails its waits. False if the agent did not confirm.
    @discardableResult
    func close(timeout: Interval = .seconds(5)) -> Bool {
        stop()
        if case .ok = api.closeSession(id, timeout: timeout) { return true }
        return false
    }

    /// Why the session must be taken for lost at `now`, or nil while it is alive.
    func lostReason(at now: Instant = MonotonicClock.now()) -> String? {
        let (reason, newlyLost) = state.withLock { s -> (String?, Bool) in
            if let lost = s.lost { return (lost, false) }
            guard now >= s.leaseEnd else { return (nil, false) }
            s.lost = "no keep-alive acknowledged within the session TTL (\(ttl))" + (s.lastError.map { "; last error: \($0)" } ?? "")
            return (s.lost, true)
        }
        if newlyLost { onLost() }
        return reason
    }

    private func markLost(_ reason: String) {
        let first = state.withLock { s -> Bool in
            guard s.lost == nil else { return false }
            s.lost = reason
            return true
        }
        if first { onLost() }
    }

    private func keepAliveLoop() {
        let interval = ttl.scaled(1.0 / 3)
        let retry = max(.milliseconds(50), ttl.scaled(0.1))
        var next = state.withLock { $0.leaseEnd } - ttl + interval
        while true {
            let pause = next - MonotonicClock.now()
            if pause > .zero { _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(pause.nanoseconds))) }
            let sent = MonotonicClock.now()
            let leaseEnd = state.withLock { $0.leaseEnd }
            if state.withLock({ $0.stopped || $0.lost != nil }) { return }
            if lostReason(at: sent) != nil { return }
            // Never wait for an answer past the lease: a late "alive" would not save it.
            let timeout = max(.milliseconds(50), min(interval, leaseEnd - sent))
            switch api.keepAlive(session: id, timeout: timeout) {
            case let .ok(response):
                let granted = (try? response.decodeJSON(SessionGrant.self)).map { Interval.milliseconds(Int64(min($0.ttlMillis, 86_400_000_000))) } ?? ttl
                state.withLock { s in
                    s.leaseEnd = max(s.leaseEnd, sent + granted)
                    s.lastError = nil
                }
                next = sent + interval
            case let .refused(r):
                markLost("the agent refused the keep-alive: \(r)")
                return
            case let .unsettled(why):
                state.withLock { $0.lastError = why }
                next = MonotonicClock.now() + retry
            }
        }
    }
}
