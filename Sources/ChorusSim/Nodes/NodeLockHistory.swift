import ChorusBase
import ChorusLocks

/// What the clients of a whole-node lock run believed, and the checker of the lock service's
/// promises against it:
/// 1. at most one exclusive holder (or only shared holders) per lock at any instant, as the
///    clients believe it (a client believes it holds a lock from the grant's arrival until it
///    sends the release, or its session's local lease — the send time of its last
///    acknowledged keep-alive plus the TTL — runs out, whichever is first);
/// 2. fencing tokens that grow: of two believed grants of one lock to different sessions, the
///    later must carry the larger token unless both are shared;
/// 3. no session believed alive after its end was committed: every acknowledged keep-alive
///    (and every believed grant) ends before the session's end was applied anywhere;
/// 4. every acquire answered within its deadline (its wait, plus the routing budget, plus a
///    margin), unless the node asked went down meanwhile.
///
/// Invariant: `violations` lists every breach found, each once, in the order found.
struct NodeLockHistory {
    struct Hold {
        var client: Int
        var session: SessionID
        var name: LockName
        var mode: LockMode
        var token: FencingToken
        var start: Instant
        var end: Instant?
    }

    var holds: [Hold] = []
    /// Per session: the latest promise of life a keep-alive (or the open) gave.
    var promisedUntil: [SessionID: Instant] = [:]
    /// Per session: when a node first applied its end.
    var endApplied: [SessionID: Instant] = [:]
    var violations: [String] = []

    mutating func granted(client: Int, session: SessionID, name: LockName, mode: LockMode, token: FencingToken, at t: Instant) -> Int {
        if let end = endApplied[session], end <= t {
            violations.append("\(t) client \(client): granted \(name) to \(session), whose end was applied at \(end)")
        }
        holds.append(Hold(client: client, session: session, name: name, mode: mode, token: token, start: t))
        return holds.count - 1
    }

    mutating func ended(_ hold: Int, at t: Instant) {
        guard holds.indices.contains(hold), holds[hold].end == nil else { return }
        holds[hold].end = max(holds[hold].start, t)
    }

    mutating func promised(_ session: SessionID, until t: Instant) {
        promisedUntil[session] = max(promisedUntil[session] ?? .zero, t)
    }

    mutating func sessionEndApplied(_ session: SessionID, at t: Instant) {
        guard endApplied[session] == nil else { return }
        endApplied[session] = t
        if let promise = promisedUntil[session], promise > t {
            violations.append("\(t): the end of \(session) was applied while a keep-alive had promised it until \(promise)")
        }
    }

    /// Checks rules 1 and 2 over every hold (open holds end at `end`).
    mutating func check(end: Instant) {
        var byName: [LockName: [Hold]] = [:]
        for h in holds {
            var h = h
            if h.end == nil { h.end = end }
            byName[h.name, default: []].append(h)
        }
        for name in byName.keys.sorted() {
            let list = (byName[name] ?? []).sorted { ($0.start, $0.token) < ($1.start, $1.token) }
            for i in list.indices {
                let a = list[i]
                for j in (i + 1)..<list.count {
                    let b = list[j]
                    guard let aEnd = a.end, b.start < aEnd else { break } // sorted by start: none later overlaps a
                    guard a.session != b.session, a.mode == .exclusive || b.mode == .exclusive else { continue }
                    violations.append("\(name): \(a.session) (\(a.mode), token \(a.token), \(a.start)–\(aEnd)) and \(b.session) (\(b.mode), token \(b.token), from \(b.start)) held it at once")
                }
                if i > 0 {
                    let p = list[i - 1]
                    if p.session != a.session, p.mode == .exclusive || a.mode == .exclusive, a.token <= p.token {
                        violations.append("\(name): token \(a.token) granted to \(a.session) at \(a.start) after token \(p.token) to \(p.session) at \(p.start)")
                    }
                }
            }
        }
    }
}
