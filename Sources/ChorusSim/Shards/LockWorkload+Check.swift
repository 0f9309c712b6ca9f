import ChorusBase
import ChorusLocks
import ChorusRing
import ChorusShards

/// What a lock simulation found. Invariant: `violations` lists breaches of lock safety (the
/// history rules of `LockHistory`), `problems` everything else that is wrong at the end
/// (replicas that disagree, a crashed client's locks never freed, locks still held after
/// the clients stopped); a correct run has both empty.
public struct LockSimulationReport: Sendable {
    /// Distinct grants seen (replica tables, replies, notifications).
    public var grants = 0
    /// Grants a client was told of and acted on.
    public var clientGrants = 0
    public var sessionsOpened = 0
    public var sessionsLost = 0
    /// `expireSession` entries that ended a session.
    public var expiries = 0
    public var busy = 0
    public var waitsQueued = 0
    public var waitTimeouts = 0
    public var waitsAbandoned = 0
    public var keepAlives = 0
    public var keepAlivesRefused = 0
    public var dropsApplied = 0
    /// Drops the backstop sweep had to start (a fan-out lost with its home leader).
    public var dropsByBackstop = 0
    /// Sessions and waits the reconciliation found without a clock (see `reconcile`).
    public var sessionsAdopted = 0
    public var waitsAdopted = 0
    public var leaderships = 0
    public var maxToken: UInt64 = 0
    public var replicaLooks = 0
    /// Pairs of holds two clients *believed* in at once (real time, incompatible modes) —
    /// information, not a breach: a client's belief can outlive its lease when a deposed
    /// leader still acknowledges keep-alives; fencing tokens are what protects a resource.
    public var clientOverlaps = 0
    /// Crashed clients' locks that another session was granted after the expiry.
    public var locksRegrantedAfterCrash = 0
    public var violationCount = 0
    public var violations: [String] = []
    public var problems: [String] = []
    /// A fingerprint of the grant history (same seed ⇒ same digest).
    public var digest: UInt64 = 0

    public var summary: String {
        "\(grants) grants (\(clientGrants) to clients), \(expiries) expiries, \(sessionsOpened) sessions opened, "
            + "\(sessionsLost) lost, max token \(maxToken), \(busy) busy, \(waitsQueued) waits (\(waitTimeouts) timed out, "
            + "\(waitsAbandoned) abandoned), \(keepAlives) keep-alives (\(keepAlivesRefused) refused), \(dropsApplied) drops "
            + "(\(dropsByBackstop) by backstop), adopted \(sessionsAdopted) sessions/\(waitsAdopted) waits, "
            + "\(leaderships) leaderships, \(locksRegrantedAfterCrash) crashed clients' locks re-granted, "
            + "\(clientOverlaps) client-side overlaps, \(replicaLooks) replica looks, \(violationCount) violations, "
            + "\(problems.count) problems"
    }
}

extension LockWorkload {
    /// The history verdict so far plus the end-of-run checks; let the run settle first
    /// (`stopOperations`, then several TTLs of quiet).
    public func check() -> LockSimulationReport {
        var r = LockSimulationReport()
        r.grants = history.distinctGrants
        r.clientGrants = history.clientGrants
        r.sessionsOpened = counters.sessionsOpened
        r.sessionsLost = counters.sessionsLost
        r.expiries = counters.expiriesApplied
        r.busy = counters.busy
        r.waitsQueued = counters.waitsQueued
        r.waitTimeouts = counters.waitsFailed[.timeout] ?? 0
        r.waitsAbandoned = counters.waitsAbandoned
        r.keepAlives = counters.keepAlives
        r.keepAlivesRefused = counters.keepAlivesRefused
        r.dropsApplied = counters.dropsApplied
        r.dropsByBackstop = counters.dropsByBackstop
        r.sessionsAdopted = counters.sessionsAdopted
        r.waitsAdopted = counters.waitsAdopted
        r.leaderships = counters.leaderships
        r.maxToken = history.maxToken
        r.replicaLooks = history.replicaLooks
        r.clientOverlaps = clientOverlaps()
        r.problems += sim.violations
        if counters.staleWaitingAnswers > 0 {
            r.problems.append("\(counters.staleWaitingAnswers) retries of an acquire whose wait had settled were answered .waiting")
        }
        checkReplicas(&r)
        checkCrashedClients(&r)
        checkQuiet(&r)
        r.violations = history.violations
        r.violationCount = history.violationCount
        r.digest = history.digest()
        return r
    }

    /// Every shard is led, and every live voter has applied as far as the leader and holds
    /// the same lock table (holders, queues, sessions, records: the whole state).
    func checkReplicas(_ r: inout LockSimulationReport) {
        for s in 0..<sim.settings.shards {
            let shard = ShardID(s)
            guard let l = sim.leaderIndex(of: shard), let leader = sim.nodes[l].host, let status = leader.status(of: shard),
                  let table = leader.machine(of: shard)?.locks else {
                r.problems.append("shard \(shard): no leader at the end")
                continue
            }
            for voter in status.voters {
                let j = Int(voter.value) - 1
                guard j != l, j < sim.nodes.count, let host = sim.nodes[j].host, let other = host.status(of: shard) else { continue }
                if other.applied != status.applied {
                    r.problems.append("shard \(shard): \(sim.nodes[j].name) applied \(other.applied), leader \(sim.nodes[l].name) \(status.applied)")
                } else if host.machine(of: shard)?.locks != table {
                    r.problems.append("shard \(shard): \(sim.nodes[j].name)'s lock table differs from leader \(sim.nodes[l].name)'s at \(status.applied)")
                }
            }
        }
    }

    /// A crashed client's session ended at home and is gone from every shard, and the lock
    /// it held was granted to another session afterwards.
    func checkCrashedClients(_ r: inout LockSimulationReport) {
        for c in clients {
            guard let session = c.crashedSession else { continue }
            for s in 0..<sim.settings.shards {
                let shard = ShardID(s)
                guard let l = sim.leaderIndex(of: shard), let table = sim.nodes[l].host?.machine(of: shard)?.locks else { continue }
                if table.knownSessions().contains(where: { $0.id == session }) {
                    r.problems.append("client \(c.index) crashed, yet shard \(shard) still knows its session \(session)")
                }
                if Int(session.home) == s, !table.isDead(session) {
                    r.problems.append("client \(c.index) crashed, yet its home shard \(shard) keeps no tombstone of \(session)")
                }
            }
            guard let name = c.crashedName, let token = c.crashedToken else { continue }
            if history.grants(of: name).contains(where: { $0.token > token && $0.session != session }) {
                r.locksRegrantedAfterCrash += 1
            } else {
                r.problems.append("client \(c.index) crashed holding \(name) (token \(token)); nobody was granted it afterwards")
            }
        }
    }

    /// After the clients stopped operating, no lock is held or waited for anywhere, and every
    /// live client is idle with nothing outstanding.
    func checkQuiet(_ r: inout LockSimulationReport) {
        for s in 0..<sim.settings.shards {
            let shard = ShardID(s)
            guard let l = sim.leaderIndex(of: shard), let table = sim.nodes[l].host?.machine(of: shard)?.locks else { continue }
            for name in table.names() {
                r.problems.append("shard \(shard): \(name) still held by \(table.holders(of: name).map(\.session)) "
                                  + "and waited for by \(table.waiters(of: name).map(\.session)) after the clients stopped")
            }
        }
        for c in clients where c.phase != .idle && c.phase != .stopped {
            r.problems.append("client \(c.index) still \(c.phase) after the clients stopped")
        }
    }

    /// Pairs of incompatible holds two clients believed in at overlapping times.
    func clientOverlaps() -> Int {
        var byName: [LockName: [LockClient.Belief]] = [:]
        for c in clients {
            for b in c.beliefs { byName[b.name, default: []].append(b) }
        }
        var count = 0
        for name in byName.keys.sorted() {
            let beliefs = (byName[name] ?? []).sorted { ($0.from, $0.token) < ($1.from, $1.token) }
            for (k, a) in beliefs.enumerated() {
                for b in beliefs[(k + 1)...] {
                    if b.from >= a.to { break }
                    if a.token != b.token, !(a.mode == .shared && b.mode == .shared) { count += 1 }
                }
            }
        }
        return count
    }
}
