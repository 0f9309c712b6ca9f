import ChorusBase
import ChorusLocks
import ChorusNode
import ChorusRing

/// A whole-node lock run (`chorus sim --workload locks`): real `Node`s in a `NodeCluster`,
/// clients that open sessions with short TTLs, keep them alive, acquire shared and exclusive
/// locks with waits, hold, release, and sometimes pause past their TTL; nodes that crash and
/// restart from what they persisted, get cut off (both ways, or one way), lose, duplicate and
/// reorder frames, and run at different clock rates. `NodeLockHistory` checks the promises.
///
/// The run announces itself (seed and every randomised option, `NodeLockReport.settings`),
/// runs a safety phase with faults, then a liveness phase without them in which every client
/// must still get a lock; a failing seed's report carries the command that replays it.
public final class NodeLockRun {
    public let settings: NodeLockSettings
    let cluster: NodeCluster
    var clients: [Client] = []
    var history = NodeLockHistory()
    var digest = TraceDigest()
    var counters = NodeLockReport.Counters()
    var names: [LockName] = []
    var tickets: [ClientTicket: (client: Int, kind: Kind)] = [:]
    var faultActive: Fault?
    var faultsOn = true
    let start: Instant

    enum Kind {
        case open(sentAt: Instant)
        case keepAlive(session: SessionID, sentAt: Instant)
        case acquire
        case release(RequestID)
    }

    enum Fault {
        case crashed(Int)
        case isolated(Int)
        case oneWay
    }

    /// One client: its session, its local lease, and what it is doing.
    struct Client {
        var node: Int
        var session: SessionID?
        /// The client's local lease: it treats the session (and its locks) as lost from here.
        var leaseEnd = Instant.zero
        var phase = Phase.idle
        var requests = 0
        var grants = 0
        /// Only the latest scheduled step counts (earlier timers are stale).
        var wake: UInt64 = 0

        enum Phase {
            case idle
            case opening
            case acquiring(ticket: ClientTicket, name: LockName, mode: LockMode, sentAt: Instant, wait: UInt64, generation: Int)
            case holding(hold: Int, name: LockName, until: Instant)
            /// A release in flight; retried with the same request id until answered.
            case releasing(name: LockName, session: SessionID, requestID: RequestID, attempts: Int)
            case paused(until: Instant)
        }
    }

    /// Timer tags: kind in the high bits, client in the low.
    static let stepTag: UInt64 = 1 << 32, keepAliveTag: UInt64 = 2 << 32, faultTag: UInt64 = 3 << 32, healTag: UInt64 = 4 << 32
    static let watchTag: UInt64 = 5 << 32

    /// The client's margin on its local lease for clock-rate differences (docs/locks.md).
    static let clientDriftMargin = 0.01

    public init(settings: NodeLockSettings, node: NodeSettings? = nil) throws {
        try settings.validate()
        self.settings = settings
        var nodeSettings = node ?? NodeCluster.settings(shards: settings.shards)
        nodeSettings.placement.shardCount = settings.shards
        nodeSettings.shards.raft.checkQuorum = settings.checkQuorum
        var rates: [Double] = []
        var drift = SeededRandom(seed: settings.seed ^ 0xD21F7)
        for _ in 0..<settings.nodes { rates.append(1 + (drift.unit() * 2 - 1) * settings.clockDrift) }
        cluster = try NodeCluster(nodes: settings.nodes, settings: nodeSettings, seed: settings.seed, clockRates: rates)
        cluster.faults.loss = settings.loss
        cluster.faults.duplication = settings.duplication
        cluster.faults.reorder = settings.reorder
        for i in 0..<settings.locks { names.append(try LockName("lock-\(i)")) }
        for c in 0..<settings.clients { clients.append(Client(node: c % settings.nodes)) }
        start = Instant.zero + Interval(seconds: settings.settleSeconds)
        cluster.onReply = { [unowned self] ticket, _, reply in self.replied(ticket, reply) }
        cluster.onTimer = { [unowned self] tag in self.timer(tag) }
    }

    /// Runs the safety phase (faults on) and the liveness phase (faults healed, clients go
    /// on); returns the report.
    public func run() -> NodeLockReport {
        cluster.run(until: start)
        for c in clients.indices {
            later(c, .milliseconds(Int64(c * 37 % 500)))
            cluster.after(.milliseconds(Int64(settings.ttlMillis / 3)), tag: NodeLockRun.keepAliveTag | UInt64(c))
        }
        cluster.after(.milliseconds(5), tag: NodeLockRun.watchTag)
        if settings.faultEverySeconds > 0 { cluster.after(Interval(seconds: settings.faultEverySeconds), tag: NodeLockRun.faultTag) }
        let safetyEnd = start + Interval(seconds: settings.durationSeconds)
        cluster.run(until: safetyEnd)
        // Liveness: every fault ends, and every client must get a lock again.
        faultsOn = false
        endFault()
        cluster.faults = NodeCluster.Faults()
        let grantsBefore = clients.map(\.grants)
        let livenessEnd = safetyEnd + .seconds(15)
        cluster.run(until: livenessEnd)
        history.check(end: cluster.now)
        for c in clients.indices where clients[c].grants == grantsBefore[c] {
            history.violations.append("liveness: client \(c) got no lock in the 15 s after the faults ended")
        }
        return report()
    }

    // MARK: clients

    func timer(_ tag: UInt64) {
        let c = Int(tag & 0xFFFF)
        switch tag & ~0xFFFF_FFFF {
        case NodeLockRun.stepTag:
            guard (tag >> 16) & 0xFFFF == clients[c].wake & 0xFFFF else { return } // a stale step
            step(c)
        case NodeLockRun.keepAliveTag: keepAlive(c)
        case NodeLockRun.faultTag: injectFault()
        case NodeLockRun.healTag: endFault()
        case NodeLockRun.watchTag: watchSessionEnds()
        default: break
        }
    }

    func later(_ c: Int, _ delay: Interval) {
        clients[c].wake &+= 1
        cluster.after(delay, tag: NodeLockRun.stepTag | (clients[c].wake & 0xFFFF) << 16 | UInt64(c))
    }

    @discardableResult
    func send(_ request: ClientRequest, from c: Int, _ kind: Kind, ticket: ClientTicket? = nil) -> ClientTicket {
        let t = ticket ?? cluster.reserveTicket()
        tickets[t] = (c, kind)
        return cluster.submit(request, to: clients[c].node, ticket: t)
    }

    func nextID(_ c: Int) -> RequestID {
        clients[c].requests += 1
        // Unique per client and request; a printable id is always valid.
        return (try? RequestID("c\(c)-\(clients[c].requests)")) ?? { preconditionFailure("request id") }()
    }

    /// The client's next move.
    func step(_ c: Int) {
        let now = cluster.now
        switch clients[c].phase {
        case let .paused(until):
            if now < until { later(c, until - now); return }
            clients[c].phase = .idle
        case let .holding(hold, name, until):
            if now >= clients[c].leaseEnd {
                history.ended(hold, at: clients[c].leaseEnd)
                loseSession(c)
            } else if now >= until, let s = clients[c].session {
                history.ended(hold, at: now)
                let id = nextID(c)
                clients[c].phase = .releasing(name: name, session: s, requestID: id, attempts: 1)
                _ = send(.release(name: name, session: s, requestID: id), from: c, .release(id))
                later(c, .seconds(3))
                return
            } else {
                later(c, min(until, clients[c].leaseEnd) - now)
                return
            }
        case let .acquiring(ticket, name, _, sentAt, wait, generation):
            let deadline = sentAt + .milliseconds(Int64(wait)) + cluster.settings.routingBudget + .seconds(2)
            guard now >= deadline else { later(c, deadline - now); return }
            tickets[ticket] = nil
            if cluster.slots[clients[c].node].isRunning, cluster.slotGeneration(clients[c].node) == generation, !cluster.slots[clients[c].node].paused {
                history.violations.append("\(now) client \(c): acquire of \(name) sent at \(sentAt) to n\(clients[c].node) (wait \(wait) ms) was never answered")
            }
            clients[c].phase = .idle
            switchNode(c)
        case let .releasing(name, session, id, attempts):
            // No answer: the release may or may not have been applied. The client must not
            // ask for the name again before it knows (a new acquire could be answered "held"
            // just before the old release lands), so it retries the same release elsewhere.
            switchNode(c)
            guard attempts < 5, now < clients[c].leaseEnd else { loseSession(c); break }
            clients[c].phase = .releasing(name: name, session: session, requestID: id, attempts: attempts + 1)
            _ = send(.release(name: name, session: session, requestID: id), from: c, .release(id))
            later(c, .seconds(3))
            return
        case .opening:
            // An answer that never came (the node went down, or the reply was lost with it).
            clients[c].phase = .idle
            switchNode(c)
        case .idle:
            break
        }
        guard case .idle = clients[c].phase else { return }
        if clients[c].session == nil || now >= clients[c].leaseEnd {
            if clients[c].session != nil { loseSession(c) }
            clients[c].phase = .opening
            _ = send(.openSession(ttlMillis: settings.ttlMillis, requestID: nextID(c)), from: c, .open(sentAt: now))
            later(c, .seconds(4))
            return
        }
        if faultsOn, cluster.unit() < settings.pauseProbability {
            // A pause longer than the TTL: no keep-alives, no requests.
            let pause = Interval.milliseconds(Int64(Double(settings.ttlMillis) * (1.5 + cluster.unit())))
            clients[c].phase = .paused(until: now + pause)
            counters.pauses += 1
            later(c, pause)
            return
        }
        guard let s = clients[c].session else { return }
        let name = names[Int(cluster.random() % UInt64(names.count))]
        let mode: LockMode = cluster.unit() < settings.sharedFraction ? .shared : .exclusive
        let wait = cluster.random() % (settings.maxWaitMillis + 1)
        counters.acquires += 1
        // The phase is set before the request goes: a leader may answer it at once, inside
        // the submit (an answer to a client not yet `acquiring` would be dropped).
        let ticket = cluster.reserveTicket()
        clients[c].phase = .acquiring(ticket: ticket, name: name, mode: mode, sentAt: now, wait: wait,
                                      generation: cluster.slotGeneration(clients[c].node))
        send(.acquire(name: name, session: s, mode: mode, waitMillis: wait, requestID: nextID(c)), from: c, .acquire, ticket: ticket)
        guard case let .acquiring(t, _, _, _, _, _) = clients[c].phase, t == ticket else { return }
        later(c, .milliseconds(Int64(wait)) + cluster.settings.routingBudget + .seconds(2))
    }

    func keepAlive(_ c: Int) {
        cluster.after(.milliseconds(Int64(settings.ttlMillis / 3)), tag: NodeLockRun.keepAliveTag | UInt64(c))
        if case .paused = clients[c].phase { return }
        guard let s = clients[c].session, cluster.now < clients[c].leaseEnd else { return }
        counters.keepAlives += 1
        _ = send(.keepAlive(s), from: c, .keepAlive(session: s, sentAt: cluster.now))
    }

    func loseSession(_ c: Int) {
        clients[c].session = nil
        clients[c].phase = .idle
    }

    func switchNode(_ c: Int) {
        clients[c].node = (clients[c].node + 1 + Int(cluster.random() % UInt64(settings.nodes - 1))) % settings.nodes
    }

    /// A promise that lasts `ttl` from `sentAt`, less the client's drift margin.
    func localLease(from sentAt: Instant) -> Instant {
        sentAt + Interval(seconds: Double(settings.ttlMillis) / 1_000 * (1 - NodeLockRun.clientDriftMargin))
    }

    func replied(_ ticket: ClientTicket, _ reply: ClientReply) {
        guard let (c, kind) = tickets.removeValue(forKey: ticket) else { return }
        let now = cluster.now
        digest.mix(now)
        digest.mix(c)
        record(reply)
        switch (kind, reply) {
        case let (.open(sentAt), .sessionOpened(s, _)):
            guard case .opening = clients[c].phase else { return }
            clients[c].session = s
            clients[c].leaseEnd = localLease(from: sentAt)
            history.promised(s, until: clients[c].leaseEnd)
            counters.sessions += 1
            clients[c].phase = .idle
            later(c, .milliseconds(1))
        case (.open, _):
            if case .opening = clients[c].phase { clients[c].phase = .idle; switchNode(c); later(c, .milliseconds(100)) }
        case let (.keepAlive(s, sentAt), .sessionAlive):
            guard clients[c].session == s, now < clients[c].leaseEnd else { return }
            clients[c].leaseEnd = max(clients[c].leaseEnd, localLease(from: sentAt))
            history.promised(s, until: clients[c].leaseEnd)
        case let (.keepAlive(s, _), .failure(f)):
            if f.code == .sessionExpired, clients[c].session == s {
                counters.expiredAnswers += 1
                if case let .holding(hold, _, _) = clients[c].phase { history.ended(hold, at: min(now, clients[c].leaseEnd)) }
                loseSession(c)
                later(c, .milliseconds(1))
            } else if f.code != .sessionExpired {
                switchNode(c)
            }
        case let (.acquire, .granted(name, mode, token)):
            guard case let .acquiring(t, _, _, _, _, _) = clients[c].phase, t == ticket, let s = clients[c].session else { return }
            counters.grants += 1
            guard now < clients[c].leaseEnd else {
                // The client's own lease ran out: it does not believe the grant.
                clients[c].phase = .idle
                later(c, .milliseconds(1))
                return
            }
            clients[c].grants += 1
            let hold = history.granted(client: c, session: s, name: name, mode: mode, token: token, at: now)
            let until = now + .milliseconds(Int64(1 + cluster.random() % settings.maxHoldMillis))
            clients[c].phase = .holding(hold: hold, name: name, until: until)
            later(c, min(until, clients[c].leaseEnd) - now)
        case let (.acquire, .failure(f)):
            guard case let .acquiring(t, _, _, _, _, _) = clients[c].phase, t == ticket else { return }
            clients[c].phase = .idle
            switch f.code {
            case .timeout, .deadlock, .withdrawn: counters.waitFailures += 1
            case .sessionExpired: loseSession(c)
            default: switchNode(c)
            }
            later(c, .milliseconds(Int64(1 + cluster.random() % 50)))
        case let (.release(sent), _):
            // Only the answer to the release in flight counts (an older one's may come late).
            guard case let .releasing(_, _, id, _) = clients[c].phase, id == sent else { return }
            switch reply {
            case .released:
                clients[c].phase = .idle
                later(c, .milliseconds(Int64(1 + cluster.random() % 50)))
            case let .failure(f) where f.code == .notHeld:
                clients[c].phase = .idle
                later(c, .milliseconds(Int64(1 + cluster.random() % 50)))
            case let .failure(f) where f.code == .sessionExpired:
                loseSession(c)
                later(c, .milliseconds(1))
            default:
                // Refused, or the outcome is unknown: retried (same request id) at the next step.
                later(c, .milliseconds(50))
            }
        default:
            break
        }
    }

    func record(_ reply: ClientReply) {
        switch reply {
        case let .granted(_, _, token): digest.mix(Int64(bitPattern: token.value))
        case let .failure(f): digest.mix(Int(f.code.rawValue) + 1_000)
        case .sessionOpened, .sessionAlive: digest.mix(2_000)
        default: digest.mix(3_000)
        }
    }

    /// Samples, every 5 ms, which sessions a running node has applied the end of.
    func watchSessionEnds() {
        cluster.after(.milliseconds(5), tag: NodeLockRun.watchTag)
        // Each node's table of a home is read once per look, however many sessions it homes.
        var tables: [ShardID: [LockTable]] = [:]
        for s in history.promisedUntil.keys.filter({ history.endApplied[$0] == nil }).sorted() {
            let home = ShardID(Int(s.home))
            if tables[home] == nil { tables[home] = cluster.slots.indices.compactMap { cluster.table($0, home) } }
            if tables[home, default: []].contains(where: { $0.isDead(s) }) {
                history.sessionEndApplied(s, at: cluster.now)
            }
        }
    }

    // MARK: faults

    func injectFault() {
        guard faultsOn else { return }
        cluster.after(Interval(seconds: settings.faultEverySeconds), tag: NodeLockRun.faultTag)
        guard faultActive == nil else { return }
        let victim = Int(cluster.random() % UInt64(settings.nodes))
        let heal = Interval(seconds: 1.5 + cluster.unit() * 4.5)
        switch cluster.random() % 4 {
        case 0:
            cluster.crash(victim)
            faultActive = .crashed(victim)
            counters.crashes += 1
        case 1:
            // Prefer a leader: cut off the node leading the most shards.
            let leaders = cluster.slots.indices.max { a, b in leads(a) < leads(b) } ?? victim
            cluster.isolate(leaders)
            faultActive = .isolated(leaders)
            counters.partitions += 1
        case 2:
            let other = (victim + 1) % settings.nodes
            cluster.cut(from: victim, to: other)
            faultActive = .oneWay
            counters.partitions += 1
        default:
            return
        }
        cluster.after(heal, tag: NodeLockRun.healTag)
    }

    func leads(_ i: Int) -> Int { cluster.slots[i].node?.host.leadersHeld ?? 0 }

    func endFault() {
        switch faultActive {
        case let .crashed(i)?:
            do { try cluster.restart(i) } catch { history.violations.append("restart of n\(i) failed: \(error)") }
            counters.restarts += 1
        case .isolated?, .oneWay?:
            cluster.heal()
        case nil:
            break
        }
        faultActive = nil
    }

    func report() -> NodeLockReport {
        NodeLockReport(settings: settings, digest: digest.description, counters: counters,
                       framesSent: cluster.framesSent, framesLost: cluster.framesLost, framesDuplicated: cluster.framesDuplicated,
                       violations: history.violations, replay: settings.replayCommand)
    }
}

/// The outcome of a whole-node lock run (`--json` prints it).
public struct NodeLockReport: Codable, Sendable {
    public struct Counters: Codable, Sendable, Equatable {
        public var sessions = 0, keepAlives = 0, expiredAnswers = 0, acquires = 0, grants = 0, waitFailures = 0
        public var pauses = 0, crashes = 0, restarts = 0, partitions = 0
    }
    public var settings: NodeLockSettings
    public var digest: String
    public var counters: Counters
    public var framesSent: Int
    public var framesLost: Int
    public var framesDuplicated: Int
    public var violations: [String]
    public var replay: String

    public var passed: Bool { violations.isEmpty }
}

