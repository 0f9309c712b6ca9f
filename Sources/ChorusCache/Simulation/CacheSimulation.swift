import ChorusBase
import ChorusWire

/// A deterministic run of N cache controllers and one home over a simulated network that
/// loses, duplicates and reorders messages, with node crashes and restarts and a home that
/// fails between a write-through and its invalidations. Messages cross the network
/// encoded, so the codec is on the path. The checker watches every instant.
///
/// Phases: `activeFor` with clients and faults, then `settleFor` without either, by the end
/// of which every operation must have ended (loss must not wedge a key).
public struct CacheSimulation {
    enum Event {
        case deliver(bytes: [UInt8], from: Int, fromLife: UInt64, to: Int, toLife: UInt64)
        case tick(Int)
        case clientNext(Int)
        case commit(CacheKey, value: [UInt8]?, version: UInt64, txn: TxnID, epoch: UInt64)
        case load(CacheKey, epoch: UInt64)
        /// A node other than the current home crashes (chosen when it happens).
        case crash
        case restart(Int)
        case memberDead(Int)
        case failover(oldHome: Int)
        case homeChanged(Int, oldHome: Int)
    }

    struct Node {
        var alive = true
        var life: UInt64 = 1
        var controller: CacheController
        var home: HomeDirectory?
    }

    struct Client {
        var node: Int
        var counter: UInt64 = 0
        var op: (id: ClientOpID, key: CacheKey, write: Bool, value: [UInt8]?, start: Instant)? = nil
    }

    let config: CacheSimConfig
    var rng: SeededRandom
    var queue = SimEventQueue<Event>()
    var now = Instant.zero
    var nodes: [Node] = []
    var clients: [Client] = []
    var homeNode = 0
    var epoch: UInt64 = 1
    var durable: [CacheKey: (value: [UInt8]?, version: UInt64)] = [:]
    var checker = CoherenceChecker()
    var report: CacheSimReport
    let keys: [CacheKey]
    var revokingWrites = 0
    /// Lives whose messages in flight are dropped (the failed home's).
    var purged: Set<[UInt64]> = []
    /// When set, every message, operation and fault touching this key is logged.
    public var traceKey: CacheKey? = nil
    public private(set) var trace: [String] = []

    mutating func log(_ key: CacheKey?, _ line: @autoclosure () -> String) {
        guard let traceKey, key == nil || key == traceKey else { return }
        trace.append("\(now) \(line())")
    }

    public init(_ config: CacheSimConfig) {
        self.config = config
        self.rng = SeededRandom(seed: config.seed)
        self.report = CacheSimReport(seed: config.seed)
        self.keys = (0..<config.keys).map { CacheKey("k\($0)") }
        for i in 0..<config.nodes {
            nodes.append(Node(controller: CacheController(node: CacheNodeID(UInt64(i)), incarnation: 1,
                                                          settings: config.settings)))
        }
        nodes[0].home = HomeDirectory(node: CacheNodeID(0), epoch: epoch, settings: config.settings,
                                      takeover: false, at: .zero)
        for i in 0..<config.nodes {
            queue.push(.tick(i), at: Instant(nanoseconds: Int64(rng.below(Int(config.tickEvery.nanoseconds)))))
            for _ in 0..<config.clientsPerNode {
                clients.append(Client(node: i))
                queue.push(.clientNext(clients.count - 1), at: Instant(nanoseconds: Int64(rng.below(2_000_000))))
            }
        }
        let active = config.activeFor.nanoseconds
        for _ in 0..<config.crashes where config.nodes > 2 {
            queue.push(.crash, at: Instant(nanoseconds: Int64(rng.below(Int(active)))))
        }
    }

    /// Runs both phases and returns what the checker found.
    public static func run(_ config: CacheSimConfig) -> CacheSimReport {
        var sim = CacheSimulation(config)
        sim.runToEnd()
        return sim.report
    }

    mutating func runToEnd() {
        let end = Instant.zero + config.activeFor + config.settleFor
        while let (at, event) = queue.pop(), at <= end {
            now = at
            report.events += 1
            handle(event)
            // Only a delivered message or a client operation can give a node a copy, and only
            // of its own key; every other event only takes copies away.
            switch event {
            case let .deliver(bytes, _, _, _, _):
                if let key = try? CacheCodec.decode(bytes).key { checkInstant(key) }
            case .clientNext:
                for key in keys { checkInstant(key) }
            case .tick, .commit, .load, .crash, .restart, .memberDead, .failover, .homeChanged:
                break
            }
            if config.stopAtFirstViolation && !checker.violations.isEmpty { break }
        }
        for client in clients {
            if let op = client.op, nodes[client.node].alive {
                checker.note("\(op.key): \(op.write ? "write" : "read") by n\(client.node) from \(op.start) never ended")
            }
        }
        checker.checkReads()
        checker.checkOrder()
        report.violations = checker.violations
        for node in nodes {
            report.hits &+= node.controller.metrics.hits
            report.misses &+= node.controller.metrics.misses
        }
    }

    var active: Bool { now < Instant.zero + config.activeFor }

    // MARK: events

    mutating func handle(_ event: Event) {
        switch event {
        case let .deliver(bytes, from, fromLife, to, toLife):
            guard nodes[to].alive, nodes[to].life == toLife, !purged.contains([UInt64(from), fromLife]) else { return }
            let message: CacheMessage
            do { message = try CacheCodec.decode(bytes) } catch {
                return checker.note("n\(to) could not decode a message from n\(from): \(error)")
            }
            let sender = CacheNodeID(UInt64(from))
            report.mix(UInt64(bitPattern: now.nanoseconds)); report.mix(UInt64(from) << 32 | UInt64(to)); report.mix(bytes)
            log(message.key, "n\(from) → n\(to) \(message)")
            if message.isForHome {
                guard var home = nodes[to].home else { return }
                var effects: [HomeEffect] = []
                home.receive(message, from: sender, at: now, into: &effects)
                nodes[to].home = home
                perform(effects, at: to)
            } else {
                var effects: [CacheEffect] = []
                nodes[to].controller.receive(message, from: sender, at: now, into: &effects)
                perform(effects, at: to)
            }
        case let .tick(i):
            queue.push(.tick(i), at: now + config.tickEvery)
            guard nodes[i].alive else { return }
            var effects: [CacheEffect] = []
            nodes[i].controller.tick(at: now, into: &effects)
            perform(effects, at: i)
            if var home = nodes[i].home {
                var homeEffects: [HomeEffect] = []
                home.tick(at: now, into: &homeEffects)
                nodes[i].home = home
                perform(homeEffects, at: i)
            }
        case let .clientNext(c):
            startOperation(c)
        case let .commit(key, value, version, txn, epoch):
            commit(key, value: value, version: version, txn: txn, epoch: epoch)
        case let .load(key, epoch):
            guard epoch == self.epoch, nodes[homeNode].alive, var home = nodes[homeNode].home else { return }
            let d = durable[key] ?? (nil, 0)
            var effects: [HomeEffect] = []
            home.loaded(key, value: d.value, version: d.version, at: now, into: &effects)
            nodes[homeNode].home = home
            perform(effects, at: homeNode)
        case .crash:
            let candidates = nodes.indices.filter { $0 != homeNode && nodes[$0].alive }
            guard !candidates.isEmpty else { return }
            let i = candidates[rng.below(candidates.count)]
            crash(i, purge: false)
            queue.push(.memberDead(i), at: now + config.detectDeadAfter)
            queue.push(.restart(i), at: now + config.downFor)
        case let .restart(i):
            nodes[i].alive = true
            nodes[i].life &+= 1
            nodes[i].controller = CacheController(node: CacheNodeID(UInt64(i)), incarnation: nodes[i].life,
                                                  settings: config.settings)
            for c in clients.indices where clients[c].node == i {
                queue.push(.clientNext(c), at: now + .milliseconds(1))
            }
        case let .memberDead(i):
            guard nodes[homeNode].alive, var home = nodes[homeNode].home else { return }
            var effects: [HomeEffect] = []
            home.memberDead(CacheNodeID(UInt64(i)), at: now, into: &effects)
            nodes[homeNode].home = home
            perform(effects, at: homeNode)
        case let .failover(oldHome):
            let candidates = nodes.indices.filter { $0 != oldHome && nodes[$0].alive }
            guard let next = candidates.first else { return }
            epoch &+= 1
            homeNode = next
            nodes[next].home = HomeDirectory(node: CacheNodeID(UInt64(next)), epoch: epoch, settings: config.settings,
                                             takeover: true, at: now)
            // Most nodes hear of the new home at once; some only after up to 1.5 leases (cut
            // off from membership news), still holding copies the old home granted.
            let late = Int(config.settings.lease.nanoseconds / 1_000) * 3 / 2
            for i in nodes.indices {
                let delay = rng.below(2) == 0 ? rng.below(10_000) : rng.below(late)
                queue.push(.homeChanged(i, oldHome: oldHome), at: now + .microseconds(Int64(delay)))
            }
        case let .homeChanged(i, oldHome):
            guard nodes[i].alive else { return }
            let newHome = CacheNodeID(UInt64(homeNode))
            var effects: [CacheEffect] = []
            nodes[i].controller.homeChanged(from: CacheNodeID(UInt64(oldHome)), resolve: { _ in newHome },
                                            at: now, into: &effects)
            perform(effects, at: i)
        }
    }

    mutating func commit(_ key: CacheKey, value: [UInt8]?, version: UInt64, txn: TxnID, epoch: UInt64) {
        guard epoch == self.epoch, nodes[homeNode].alive, var home = nodes[homeNode].home else {
            // The home died with the proposal in flight: Raft may or may not commit it.
            if rng.below(2) == 0 {
                durable[key] = (value, version)
                checker.recordVersion(key, value: value, version: version)
            }
            return
        }
        durable[key] = (value, version)
        checker.recordVersion(key, value: value, version: version)
        if let revokes = home.entries[key]?.txn?.targets, !revokes.isEmpty, active {
            revokingWrites += 1
            if revokingWrites == config.homeFailureAtWrite {
                // The write is durable; its invalidations die with the home.
                let old = homeNode
                crash(old, purge: true)
                queue.push(.failover(oldHome: old), at: now + config.failoverAfter)
                queue.push(.restart(old), at: now + config.failoverAfter + config.downFor)
                return
            }
        }
        var effects: [HomeEffect] = []
        home.writeThroughDone(key, txn: txn, at: now, into: &effects)
        nodes[homeNode].home = home
        perform(effects, at: homeNode)
    }

    mutating func crash(_ i: Int, purge: Bool) {
        guard nodes[i].alive else { return }
        log(nil, "n\(i) crashes\(purge ? " (home, in-flight messages lost)" : "")")
        if purge { report.homeFailures += 1 } else { report.crashes += 1 }
        nodes[i].alive = false
        nodes[i].home = nil
        if purge { purged.insert([UInt64(i), nodes[i].life]) }
        for c in clients.indices where clients[c].node == i {
            if let op = clients[c].op, op.write, let v = op.value {
                checker.recordWrite(op.key, value: v, start: op.start, end: nil)
                report.unknownWrites += 1
            }
            clients[c].op = nil
        }
    }

    // MARK: clients

    mutating func startOperation(_ c: Int) {
        let node = clients[c].node
        guard active, nodes[node].alive, clients[c].op == nil else { return }
        clients[c].counter &+= 1
        let id = ClientOpID(UInt64(c) << 32 | clients[c].counter)
        let key = keys[rng.below(keys.count)]
        let write = rng.unit() < config.writeShare
        let value: [UInt8]? = write ? Array("c\(c).\(clients[c].counter)".utf8) : nil
        clients[c].op = (id, key, write, value, now)
        let what = write ? "write \(String(decoding: value ?? [], as: UTF8.self))" : "read"
        log(key, "n\(node) \(id) \(what)")
        let home = CacheNodeID(UInt64(homeNode))
        var effects: [CacheEffect] = []
        if write {
            nodes[node].controller.write(key, value: value, op: id, home: home, at: now, into: &effects)
        } else {
            nodes[node].controller.read(key, op: id, home: home, at: now, into: &effects)
        }
        perform(effects, at: node)
    }

    mutating func completed(_ id: ClientOpID, _ outcome: CacheOutcome) {
        let c = Int(id.raw >> 32)
        guard c < clients.count, let op = clients[c].op, op.id == id else { return }
        clients[c].op = nil
        let owner = clients[c].node
        report.mix(UInt64(bitPattern: now.nanoseconds)); report.mix(id.raw)
        log(op.key, "n\(owner) \(id) ended \(outcome)")
        switch outcome {
        case let .value(v):
            report.reads += 1
            checker.recordRead(op.key, value: v, start: op.start, end: now, node: clients[c].node)
        case .written, .writtenValue:
            report.writes += 1
            if let v = op.value { checker.recordWrite(op.key, value: v, start: op.start, end: now) }
        case .failed(.outcomeUnknown):
            report.unknownWrites += 1
            if let v = op.value { checker.recordWrite(op.key, value: v, start: op.start, end: nil) }
        case .failed:
            if op.write, let v = op.value { checker.recordWrite(op.key, value: v, start: op.start, end: nil) }
        }
        queue.push(.clientNext(c), at: now + .microseconds(Int64(rng.below(3_000))))
    }

    // MARK: effects

    mutating func perform(_ effects: [CacheEffect], at node: Int) {
        for effect in effects {
            switch effect {
            case let .send(message, to): transmit(message, from: node, to: Int(to.raw))
            case let .complete(id, outcome): completed(id, outcome)
            }
        }
    }

    mutating func perform(_ effects: [HomeEffect], at node: Int) {
        for effect in effects {
            switch effect {
            case let .send(message, to): transmit(message, from: node, to: Int(to.raw))
            case let .load(key): queue.push(.load(key, epoch: epoch), at: now + config.durableDelay)
            case let .writeThrough(key, value, version, txn):
                queue.push(.commit(key, value: value, version: version, txn: txn, epoch: epoch),
                           at: now + config.durableDelay)
            }
        }
    }

    mutating func transmit(_ message: CacheMessage, from: Int, to: Int) {
        guard to >= 0, to < nodes.count else { return }
        report.messages += 1
        log(message.key, "n\(from) sends n\(to) \(message)")
        let bytes = CacheCodec.encode(message)
        let faulty = active
        if faulty && rng.unit() < config.lossRate { return }
        let copies = faulty && rng.unit() < config.duplicateRate ? 2 : 1
        let span = Int(config.maxDelay.nanoseconds - config.minDelay.nanoseconds)
        for _ in 0..<copies {
            let delay = config.minDelay + .nanoseconds(Int64(rng.below(max(1, span))))
            queue.push(.deliver(bytes: bytes, from: from, fromLife: nodes[from].life, to: to, toLife: nodes[to].life),
                       at: now + delay)
        }
    }

    // MARK: the instant check

    mutating func checkInstant(_ key: CacheKey) {
        var copies: [(node: Int, state: LineState)] = []
        for i in nodes.indices where nodes[i].alive {
            if nodes[i].controller.readableValue(of: key, at: now) != nil {
                copies.append((i, nodes[i].controller.state(of: key, at: now)))
            }
        }
        checker.checkSingleWriter(key, copies, at: now)
    }
}
