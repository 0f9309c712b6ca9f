/// A request other than the applied command's own that the command settled: a queued acquire
/// granted, or failed. The driver answers the waiting client with it (and, on the leader,
/// tells `WaitDeadlines` to forget the wait).
///
/// Invariant: within one `LockApplyResult`, notifications come in a deterministic order —
/// lock names in byte order, and within a name a failed wait before the grants it allowed,
/// grants in queue order.
public enum LockNotification: Hashable, Sendable {
    case granted(session: SessionID, name: LockName, mode: LockMode, requestID: RequestID, token: FencingToken)
    case waitFailed(session: SessionID, name: LockName, requestID: RequestID, reason: WaitFailure)

    public var session: SessionID {
        switch self {
        case let .granted(session, _, _, _, _), let .waitFailed(session, _, _, _): return session
        }
    }
    public var name: LockName {
        switch self {
        case let .granted(_, name, _, _, _), let .waitFailed(_, name, _, _): return name
        }
    }
    public var requestID: RequestID {
        switch self {
        case let .granted(_, _, _, requestID, _), let .waitFailed(_, _, requestID, _): return requestID
        }
    }
}

/// What applying one entry produced: the reply to its own command and the other requests it
/// settled. Invariant: equal tables applying equal commands at equal indices give equal
/// results.
public struct LockApplyResult: Hashable, Sendable {
    public var reply: LockReply
    public var notifications: [LockNotification]

    public init(reply: LockReply, notifications: [LockNotification] = []) {
        self.reply = reply; self.notifications = notifications
    }
}
