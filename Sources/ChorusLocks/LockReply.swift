/// The answer to the command an entry carried, for the client that sent it.
///
/// Invariant: a retried command (same session and request id, or same request id for
/// `openSession`) gets the reply its first application got — updated to the outcome once a
/// wait settled — and changes nothing.
public enum LockReply: Hashable, Sendable, CustomStringConvertible {
    /// `openSession`: the new session (or, for a retry, the one the first attempt opened).
    case sessionOpened(SessionID)
    /// `closeSession`, `expireSession`, `dropSession`: the session is gone from this shard.
    case sessionEnded
    /// The session named is not alive (closed, expired, dropped, or never opened here).
    case sessionExpired
    /// The lock is held: the mode held (exclusive when a shared re-acquire found an exclusive
    /// hold) and its fencing token.
    case granted(LockName, LockMode, FencingToken)
    /// The request is queued; a `LockNotification` tells how it ends.
    case waiting
    /// A try-lock (`waitMillis == 0`) could not be granted at once.
    case busy
    /// `release`: the hold (and any pending wait of the session on the name) is gone.
    case released
    /// `release`: the session neither held nor waited for the name.
    case notHeld
    /// `cancelWait`: the wait was failed.
    case waitCancelled
    /// `cancelWait`: no such wait (already granted, cancelled or never queued): nothing done.
    case notWaiting
    /// A retried `acquire` whose wait has since failed.
    case waitFailed(WaitFailure)
    /// The command breaks a rule; nothing changed.
    case invalid(String)

    public var description: String {
        switch self {
        case let .sessionOpened(id): return "sessionOpened(\(id))"
        case .sessionEnded: return "sessionEnded"
        case .sessionExpired: return "sessionExpired"
        case let .granted(name, mode, token): return "granted(\(name), \(mode), \(token))"
        case .waiting: return "waiting"
        case .busy: return "busy"
        case .released: return "released"
        case .notHeld: return "notHeld"
        case .waitCancelled: return "waitCancelled"
        case .notWaiting: return "notWaiting"
        case let .waitFailed(why): return "waitFailed(\(why))"
        case let .invalid(why): return "invalid(\(why))"
        }
    }
}

/// Why a queued acquire ended without a grant. Invariant: raw values are the wire encoding.
public enum WaitFailure: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// Its deadline passed (`cancelWait(.timeout)`).
    case timeout = 1
    /// The deadlock detector chose it as the victim of a cycle (`cancelWait(.deadlock)`).
    case deadlock = 2
    /// Its session was closed, expired or dropped.
    case sessionExpired = 3
    /// The session released the name while its request was still queued.
    case withdrawn = 4

    public var description: String {
        switch self {
        case .timeout: return "timeout"
        case .deadlock: return "deadlock"
        case .sessionExpired: return "sessionExpired"
        case .withdrawn: return "withdrawn"
        }
    }
}
