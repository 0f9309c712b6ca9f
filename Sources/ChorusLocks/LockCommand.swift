/// A command of the lock service, as proposed to a shard's Raft log and applied, in log
/// order, by `LockTable.apply(_:index:)` on every replica of the shard.
///
/// Invariant: a command holds everything its effect depends on (the proposing leader's clock
/// reading included), so every replica applying the same log computes the same table.
/// Commands a client sends carry its `RequestID`; the ones only a leader proposes
/// (`expireSession`, `dropSession`, `cancelWait`) are idempotent by nature.
public enum LockCommand: Hashable, Sendable {
    /// Opens a session on this shard (its home). `openedAtMillis` is the proposing leader's
    /// wall clock; the TTL bounds are `LockTableSettings.minTTLMillis…maxTTLMillis`.
    case openSession(ttlMillis: UInt64, openedAtMillis: UInt64, requestID: RequestID)
    /// The client ends its session (home shard only): its locks here are released, its waits
    /// here fail; the driver then proposes `dropSession` to every other shard.
    case closeSession(SessionID, requestID: RequestID)
    /// The home shard's leader found the session's lease run out (`SessionLeases`). Same
    /// effect as `closeSession`.
    case expireSession(SessionID)
    /// Applied on every shard after the home shard closed or expired the session: releases its
    /// locks and fails its waits there, and remembers it as dead (a bounded tombstone list) so
    /// that a late `acquire` of it gets `.sessionExpired`.
    case dropSession(SessionID)
    /// Takes `name` in `mode` for `session`, waiting at most `waitMillis` (0 = try-lock).
    case acquire(name: LockName, session: SessionID, mode: LockMode, waitMillis: UInt64, requestID: RequestID)
    /// Gives up the session's hold of `name` and its pending wait there, if any.
    case release(name: LockName, session: SessionID, requestID: RequestID)
    /// The leader fails the pending wait `(name, session, requestID)`: its deadline passed
    /// (`WaitDeadlines`) or the deadlock detector picked it as a victim.
    case cancelWait(name: LockName, session: SessionID, requestID: RequestID, reason: CancelReason)
}

/// Why a leader cancels a wait. Invariant: raw values are the wire encoding.
public enum CancelReason: UInt8, Hashable, Sendable, CustomStringConvertible {
    case timeout = 1
    case deadlock = 2

    /// The failure the waiting client is told about.
    public var failure: WaitFailure { self == .timeout ? .timeout : .deadlock }
    public var description: String { self == .timeout ? "timeout" : "deadlock" }
}
