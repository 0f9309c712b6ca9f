import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards

/// The lock service in the shard simulation: clients that open sessions, keep them alive and
/// loop over acquire → hold → release (`LockWorkload+Clients.swift`); on every node, the
/// driver duties of a shard leader — lease and wait clocks, `expireSession` and
/// `cancelWait(.timeout)` proposals, the `dropSession` fan-out (`LockWorkload+Leaders.swift`);
/// and a checker that looks at every replica's lock table after every drive in which it
/// applied something, and at every grant a client or notification revealed (`LockHistory`).
/// `check()` (`LockWorkload+Check.swift`) adds the end-of-run checks.
///
/// Invariants: same simulation settings, same workload settings ⇒ same run (every choice
/// from `rng`, every collection visited in a sorted or insertion order); a node's driver
/// state dies with the node; node-to-node requests (drops, tombstone queries) respect
/// isolation, client-to-node requests do not (clients sit on both sides of a partition).
public final class LockWorkload: ShardWorkload {
    public let settings: LockWorkloadSettings
    /// The simulation holds the workload; the workload only borrows the simulation.
    unowned let sim: ShardSimulation
    var rng: SeededRandom
    let names: [LockName]
    let shardOfName: [ShardID]
    var clients: [LockClient] = []
    var sessionOwner: [SessionID: Int] = [:]
    var drivers: [LockNodeDriver?] = []
    let history = LockHistory()
    var clientRequests: [UInt64: ClientRequest] = [:]
    var leaderRequests: [UInt64: LeaderRequest] = [:]
    var operationsStopAt = Instant.distantFuture
    /// Clients whose crash takes their home leader down at the session's expiry (downtime).
    var homeLeaderCrashes: [Int: Double] = [:]
    var counters = Counters()
    /// Notable moments (client crashes, backstop drops), in order.
    public internal(set) var log: [String] = []

    /// A client's proposal in flight: whose, which operation, and the node it went to (whose
    /// agent sees the reply first and keeps its leader clocks by it).
    struct ClientRequest {
        var client: Int
        var op: Int
        var command: LockCommand
        var shard: ShardID
        var node: Int
        var generation: Int
    }

    struct Counters {
        var sessionsOpened = 0
        var sessionsLost = 0
        var expiriesApplied = 0
        var grantsAccepted = 0
        var busy = 0
        var waitsQueued = 0
        var waitsFailed: [WaitFailure: Int] = [:]
        var waitsAbandoned = 0
        var keepAlives = 0
        var keepAlivesRefused = 0
        var dropsApplied = 0
        var dropsByBackstop = 0
        var sessionsAdopted = 0
        var waitsAdopted = 0
        var leaderships = 0
        /// Retries of an acquire whose wait had settled, answered `.waiting` all the same.
        var staleWaitingAnswers = 0
    }

    /// Timer kinds (the low two bits of a tag).
    enum Timer: Int {
        case step = 0, keepAlive = 1, crash = 2, stopOperations = 3
    }

    /// Plugs a lock workload into `simulation` (which must not run key-value writes of its
    /// own if the run is to stay short; they do not disturb the locks).
    public init(settings: LockWorkloadSettings, simulation: ShardSimulation) throws(SimSettingError) {
        try settings.validate()
        self.settings = settings
        self.sim = simulation
        rng = SeededRandom(seed: settings.seed ^ simulation.settings.seed &* 0x9E37_79B9_7F4A_7C15)
        var names: [LockName] = []
        for text in settings.lockNames {
            do { names.append(try LockName(text)) } catch {
                throw SimSettingError(field: "lock_names", message: "\(error)")
            }
        }
        self.names = names
        let shards = simulation.settings.shards
        shardOfName = settings.lockNames.map { ShardMap.shard(of: Token(key: $0), shardCount: shards) }
        for k in 0..<settings.clients { clients.append(LockClient(index: k, home: ShardID(k % shards))) }
        simulation.attach(self)
        for c in clients {
            let jitter = Interval.milliseconds(Int64(rng.below(500)))
            c.stepEpoch += 1
            schedule(.step, client: c.index, epoch: c.stepEpoch, at: Instant.zero + settings.startAt + jitter)
        }
    }

    var now: Instant { sim.now }

    // MARK: public controls

    /// The lock names, and the shard each lives on.
    public var lockNames: [(name: String, shard: ShardID)] { zip(names, shardOfName).map { ($0.text, $1) } }

    /// Client `k` crashes (stops sending anything, keep-alives included) at its first grant
    /// from `time` seconds on, so that it leaves a lock held for expiry to free. With
    /// `homeLeaderDowntime`, the leader of its home shard crashes too, right after it
    /// applied the session's expiry and before it sent any `dropSession` (restarting after
    /// that many seconds): the fan-out is lost with it.
    public func crashClient(_ k: Int, at time: Double, homeLeaderDowntime: Double? = nil) {
        homeLeaderCrashes[k] = homeLeaderDowntime
        schedule(.crash, client: k, epoch: 0, at: Instant.zero + Interval(seconds: time))
    }

    /// From `time` seconds on, clients start no new acquire: they release what they hold,
    /// withdraw what they wait for, and keep their sessions alive.
    public func stopOperations(at time: Double) {
        schedule(.stopOperations, client: 0, epoch: 0, at: Instant.zero + Interval(seconds: time))
    }

    // MARK: timers

    func schedule(_ timer: Timer, client: Int, epoch: Int, at time: Instant) {
        sim.scheduleWorkload(timer.rawValue + 4 * (client + 4096 * epoch), at: time)
    }

    /// Reschedules the client's next step (any earlier step timer becomes stale).
    func scheduleStep(_ c: LockClient, after delay: Interval) {
        c.stepEpoch += 1
        schedule(.step, client: c.index, epoch: c.stepEpoch, at: now + delay)
    }

    func scheduleKeepAlive(_ c: LockClient, after delay: Interval) {
        schedule(.keepAlive, client: c.index, epoch: c.keepAliveEpoch, at: now + delay)
    }

    public func fire(_ tag: Int) {
        guard let timer = Timer(rawValue: tag & 3) else { return }
        let client = (tag >> 2) % 4096, epoch = (tag >> 2) / 4096
        guard client < clients.count else { return }
        let c = clients[client]
        switch timer {
        case .step:
            guard epoch == c.stepEpoch else { return }
            step(c)
        case .keepAlive:
            guard epoch == c.keepAliveEpoch else { return }
            keepAlive(c)
        case .crash:
            if c.phase == .holding { crash(c) } else { c.crashWhenHolding = now }
        case .stopOperations:
            operationsStopAt = now
        }
    }

    // MARK: proposals

    enum Sent {
        case proposed(token: UInt64)
        /// Answered from the shard's request ledger without a log entry.
        case answered(LockReply)
        /// Not the leader (with its hint, if it knows one), down, or overloaded.
        case refused(hint: Int?)
    }

    /// Proposes `command` to `shard` at node `node`'s host.
    func propose(_ command: LockCommand, shard: ShardID, at node: Int, ledgerID: [UInt8]) -> Sent {
        guard node >= 0, node < sim.nodes.count, var host = sim.nodes[node].host else { return .refused(hint: nil) }
        let token = sim.newToken()
        let result: Sent
        do {
            switch try host.propose(shard: shard, requestID: ledgerID, command: ShardCommand.lock(command).encoded(), token: token) {
            case .proposed: result = .proposed(token: token)
            case let .alreadyApplied(_, bytes): result = .answered(decode(bytes, of: command))
            }
        } catch {
            if case let .notLeader(leader?) = error { result = .refused(hint: Int(leader.value) - 1) } else { result = .refused(hint: nil) }
        }
        sim.nodes[node].host = host
        if case .proposed = result { sim.kick(node) }
        return result
    }

    func decode(_ bytes: [UInt8], of command: LockCommand) -> LockReply {
        do { return try LockCodec.decodeReply(bytes) } catch {
            history.violation("undecodable reply to \(command): \(error)")
            return .invalid("undecodable reply")
        }
    }

    /// Whether node `a` can send to node `b` (the same node always can).
    func reachable(_ a: Int, _ b: Int) -> Bool {
        a == b || (!sim.isolated.contains(a) && !sim.isolated.contains(b))
    }

    /// A node to try for `shard` without a hint: a replica of its placement, as a client with
    /// a ring view would pick.
    func anyReplica(of shard: ShardID) -> Int {
        let replicas = sim.lastTargets[shard] ?? []
        if replicas.isEmpty { return rng.below(sim.nodes.count) }
        return Int(replicas[rng.below(replicas.count)].value) - 1
    }

    // MARK: ShardWorkload

    public func settle(_ reply: ShardReply) {
        if let request = clientRequests.removeValue(forKey: reply.token) {
            if case let .applied(_, bytes) = reply.outcome { leaderSawReply(request, decode(bytes, of: request.command)) }
            settleClient(clients[request.client], op: request.op, token: reply.token, command: request.command, outcome: reply.outcome)
        } else if let request = leaderRequests.removeValue(forKey: reply.token) {
            settleLeader(request, outcome: reply.outcome)
        }
    }

    public func driven(_ i: Int) {
        let node = sim.nodes[i]
        guard var host = node.host else { return }
        let driver = driver(of: i)
        let changes = host.takeLeadershipChanges()
        let events = host.takeEvents()
        node.host = host
        for (shard, leading) in changes {
            if leading, let table = host.machine(of: shard)?.locks {
                driver.leading[shard] = LockLeaderClocks(now: now, table: table)
                counters.leaderships += 1
            } else {
                driver.leading[shard] = nil
            }
        }
        for (shard, n) in events {
            if case let .granted(session, name, mode, _, token) = n {
                history.held(LockHistory.Grant(name: name, session: session, mode: mode, token: token), at: token.value,
                             source: "notification on \(node.name)")
            }
            guard driver.leading[shard] != nil else { continue }
            driver.leading[shard]?.waits.forget(n.name, session: n.session)
            if let k = sessionOwner[n.session] { notify(clients[k], n, from: i, shard: shard) }
        }
        look(at: i)
        leaderDuties(i, driver)
    }

    /// The node's driver state for its current generation (a fresh one after a restart).
    func driver(of i: Int) -> LockNodeDriver {
        while drivers.count <= i { drivers.append(nil) }
        let generation = sim.nodes[i].generation
        if let d = drivers[i], d.generation == generation { return d }
        let d = LockNodeDriver(generation: generation)
        drivers[i] = d
        return d
    }

    /// Hands every replica on node `i` that applied something since its last look to the
    /// history checker.
    func look(at i: Int) {
        let node = sim.nodes[i]
        guard let host = node.host else { return }
        for status in host.statuses {
            let key = LockHistory.ReplicaKey(node: i, generation: node.generation, shard: status.shard.value)
            guard history.lastLook(key) != status.applied.value, let table = host.machine(of: status.shard)?.locks else { continue }
            history.look(at: key, applied: status.applied.value, table: table, node: node.name)
        }
    }
}
