import ChorusBase
import XCTest
@testable import ChorusLocks

/// A lock name from a literal known to be valid.
func lock(_ text: String) -> LockName {
    guard let name = try? LockName(text) else { preconditionFailure("test lock name \(text) invalid") }
    return name
}

/// A request id from a literal known to be valid.
func req(_ text: String) -> RequestID {
    guard let id = try? RequestID(text) else { preconditionFailure("test request id \(text) invalid") }
    return id
}

/// One shard's table with its own Raft index counter, and shorthands for commands.
struct TestShard {
    var table: LockTable
    var index: UInt64 = 0
    private var nextRequest = 0

    init(_ shard: UInt16 = 1, settings: LockTableSettings = LockTableSettings()) {
        guard let t = try? LockTable(shard: shard, settings: settings) else { preconditionFailure("bad test settings") }
        table = t
    }

    var shard: UInt16 { table.shard }

    @discardableResult
    mutating func apply(_ command: LockCommand) -> LockApplyResult {
        index += 1
        return table.apply(command, index: index)
    }

    mutating func freshRequest() -> RequestID {
        nextRequest += 1
        return req("r\(shard)-\(nextRequest)")
    }

    /// Opens a session at home here; `openedAt` orders sessions by age.
    mutating func open(ttl: UInt64 = 10_000, openedAt: UInt64 = 1_000) -> SessionID {
        let r = apply(.openSession(ttlMillis: ttl, openedAtMillis: openedAt, requestID: freshRequest()))
        guard case let .sessionOpened(id) = r.reply else { preconditionFailure("open failed: \(r.reply)") }
        return id
    }

    @discardableResult
    mutating func acquire(_ name: String, _ session: SessionID, _ mode: LockMode = .exclusive, wait: UInt64 = 60_000,
                          id: RequestID? = nil) -> LockApplyResult {
        let requestID = id ?? freshRequest()
        return apply(.acquire(name: lock(name), session: session, mode: mode, waitMillis: wait, requestID: requestID))
    }

    @discardableResult
    mutating func release(_ name: String, _ session: SessionID, id: RequestID? = nil) -> LockApplyResult {
        let requestID = id ?? freshRequest()
        return apply(.release(name: lock(name), session: session, requestID: requestID))
    }

    func holders(_ name: String) -> [SessionID] { table.holders(of: lock(name)).map(\.session) }
    func waiters(_ name: String) -> [SessionID] { table.waiters(of: lock(name)).map(\.session) }
    func token(_ name: String, _ session: SessionID) -> FencingToken? {
        table.holders(of: lock(name)).first { $0.session == session }?.token
    }
}

/// The grants a result's notifications carry, as (session, token).
func grants(_ r: LockApplyResult) -> [(SessionID, FencingToken)] {
    r.notifications.compactMap {
        if case let .granted(session, _, _, _, token) = $0 { return (session, token) }
        return nil
    }
}

/// The failures a result's notifications carry, as (session, reason).
func failures(_ r: LockApplyResult) -> [(SessionID, WaitFailure)] {
    r.notifications.compactMap {
        if case let .waitFailed(session, _, _, reason) = $0 { return (session, reason) }
        return nil
    }
}

func at(_ millis: Int64) -> Instant { Instant(nanoseconds: millis * 1_000_000) }
