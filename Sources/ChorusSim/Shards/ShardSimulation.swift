import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage

/// A deterministic simulation of a cluster of shard hosts: every node runs the real
/// `ShardHost` on the real `ShardStore` (over a `MemoryFileSystem` that loses unsynced
/// writes on a crash), batches cross a simulated network as encoded frames, and a simulated
/// membership layer turns crashes, joins and graceful leaves into placement after a
/// detection delay. Clients write unique keys through any node, follow leader hints and
/// retry with the same request id; `check()` then verifies that every acknowledged write
/// survived and that every shard sits on its placement. A `ShardWorkload` (the lock
/// workload) can be plugged in beside or instead of those writes.
///
/// Invariants: same settings and seed ⇒ same run (events ordered by time and insertion;
/// every random choice from seeded streams); a crashed node keeps only what it synced.
public final class ShardSimulation {
    public let settings: ShardSimulationSettings

    final class SimNode {
        let index: Int
        let id: NodeID
        let name: String
        let fileSystem = MemoryFileSystem()
        var store: ShardStore?
        var host: ShardHost<ShardState>?
        var generation = 0
        /// The membership layer's verdict as every node sees it.
        var status: MemberStatus = .alive
        var draining = false
        var drainStarted: Instant?
        init(index: Int) {
            self.index = index
            self.id = NodeID(UInt64(index + 1))
            self.name = "n\(index)"
        }
        var isRunning: Bool { host != nil }
    }

    enum Event {
        case tick(node: Int, generation: Int)
        case deliver(bytes: [UInt8], to: Int, generation: Int)
        case write
        case retry(Int)
        case placement
        case action(Int)
        /// A timer of the plugged-in workload (its own tag).
        case workload(Int)
        /// Drive a node whose host was handed work outside its own events (a proposal made
        /// while another node was being driven), at the current instant.
        case kick(node: Int)
    }

    /// One client write: a unique key, retried with one request id until acknowledged.
    struct Write {
        var shard: ShardID
        var key: [UInt8]
        var value: [UInt8]
        var requestID: [UInt8]
        var via: Int
        var acknowledged = false
        var attempts = 0
    }

    /// What a scenario does at an instant.
    public enum Action: Sendable {
        case crash(Int)
        case restart(Int)
        case add(Int)
        case drain(Int)
        /// Cuts the node off from every other (both directions). The simulated membership
        /// layer then wrongly declares it dead, so placement moves its replicas away.
        case isolate(Int)
        /// Ends an isolation; the node is alive again in every view.
        case heal(Int)
    }

    public private(set) var now = Instant.zero
    var queue = EventQueue<Event>()
    var nodes: [SimNode] = []
    var rng: SeededRandom
    var writes: [Write] = []
    var tokenToWrite: [UInt64: (write: Int, node: Int)] = [:]
    var nextToken: UInt64 = 1
    var actions: [(at: Instant, action: Action)] = []
    var clientsStopAt = Instant.distantFuture
    /// Election Safety check: the leader seen for each (shard, term).
    var leaders: [ShardID: [Term: NodeID]] = [:]
    public private(set) var violations: [String] = []
    public private(set) var log: [String] = []
    public private(set) var batchesSent = 0
    public private(set) var messagesSent = 0
    var lastTargets: [ShardID: [NodeID]] = [:]
    var isolated: Set<Int> = []
    /// Writes acknowledged by a node while it was isolated (a minority cannot commit: must
    /// stay 0, answers from the request ledger aside).
    public private(set) var acknowledgedWhileIsolated = 0
    /// Writes an isolated node accepted as leader (so the check above is not vacuous).
    public private(set) var proposedWhileIsolated = 0
    /// A second client workload beside the key-value writes (the lock workload), if any.
    public private(set) var workload: (any ShardWorkload)?
    var kicksPending: Set<Int> = []

    public init(settings: ShardSimulationSettings) throws {
        self.settings = settings
        rng = SeededRandom(seed: settings.seed)
        for i in 0..<settings.nodes { nodes.append(SimNode(index: i)) }
        try start(nodes[0], founder: true)
        for node in nodes.dropFirst() { try start(node, founder: false) }
        queue.push(.placement, at: now)
        if settings.kvWrites { queue.push(.write, at: now + .seconds(2)) }
    }

    /// Plugs `workload` in: from now on it sees every drive, its replies and its timers.
    public func attach(_ workload: any ShardWorkload) {
        precondition(self.workload == nil, "one workload per simulation")
        self.workload = workload
    }

    /// Fires the workload's timer `tag` at `time`.
    func scheduleWorkload(_ tag: Int, at time: Instant) { queue.push(.workload(tag), at: max(time, now)) }

    /// Drives node `i` at the current instant, after the event being handled (at most one
    /// pending kick per node: a drive handles everything the host has by then).
    func kick(_ i: Int) {
        guard i >= 0, i < nodes.count, nodes[i].isRunning, kicksPending.insert(i).inserted else { return }
        queue.push(.kick(node: i), at: now)
    }

    /// The running node that leads `shard` (the highest term if an isolated one still
    /// believes it leads), if any.
    public func leaderIndex(of shard: ShardID) -> Int? {
        nodes.filter { $0.host?.isLeader(of: shard) == true }
            .max { ($0.host?.status(of: shard)?.term ?? .zero, -$0.index) < ($1.host?.status(of: shard)?.term ?? .zero, -$1.index) }?
            .index
    }

    /// Adds `action` at `time` (seconds from the start).
    public func schedule(_ action: Action, at time: Double) {
        schedule(action, at: Instant.zero + Interval(seconds: time))
    }

    /// Adds `action` at `time` (not before now).
    func schedule(_ action: Action, at time: Instant) {
        actions.append((max(time, now), action))
        queue.push(.action(actions.count - 1), at: max(time, now))
    }

    /// Clients stop writing at `time` so the cluster can settle before `check()`.
    public func stopClients(at time: Double) { clientsStopAt = Instant.zero + Interval(seconds: time) }

    func start(_ node: SimNode, founder: Bool) throws {
        let store = try ShardStore(directory: "/data", fileSystem: node.fileSystem)
        var host = try ShardHost<ShardState>(id: node.id, settings: settings.host, seed: rng.next(),
                                             epoch: try store.loadEpoch(), restoring: try store.loadGroups())
        if founder && host.epoch == nil {
            try host.bootstrap(shards: (0..<settings.shards).map { ShardID($0) }, epoch: 0xC0FFEE)
        }
        node.store = store
        node.host = host
        node.generation += 1
        node.status = .alive
        queue.push(.tick(node: node.index, generation: node.generation), at: now + settings.tick)
        drive(node)
    }

    // MARK: running

    /// Runs until `time` seconds of virtual time.
    public func run(until time: Double) {
        let end = Instant.zero + Interval(seconds: time)
        while let next = queue.peek(), next.time <= end {
            guard let e = queue.pop() else { break }
            now = e.time
            handle(e.event)
        }
        now = end
    }

    func handle(_ event: Event) {
        switch event {
        case let .tick(i, generation):
            let node = nodes[i]
            guard node.generation == generation, node.isRunning else { return }
            node.host?.tick()
            drive(node)
            checkDrain(node)
            queue.push(.tick(node: i, generation: generation), at: now + settings.tick)
        case let .deliver(bytes, i, generation):
            let node = nodes[i]
            guard node.generation == generation, node.isRunning, let batch = try? ShardBatchCodec.decode(bytes) else { return }
            node.host?.receive(batch)
            drive(node)
        case .write:
            guard now < clientsStopAt else { return }
            newWrite()
            queue.push(.write, at: now + settings.writeEvery)
        case let .retry(w):
            submit(w)
        case .placement:
            updatePlacement()
            queue.push(.placement, at: now + .milliseconds(500))
        case let .action(k):
            perform(actions[k].action)
        case let .workload(tag):
            workload?.fire(tag)
        case let .kick(i):
            kicksPending.remove(i)
            drive(nodes[i])
        }
    }

    /// Runs the node's driver loop: persist, sync, send, advance; handles replies.
    func drive(_ node: SimNode) {
        guard var host = node.host, let store = node.store else { return }
        var out: [ShardBatch] = []
        let replies: [ShardReply]
        do {
            replies = try store.drive(&host) { out += $0 }
        } catch {
            violations.append("\(node.name): storage failed: \(error)")
            return
        }
        node.host = host
        for s in host.statuses where s.role == .leader {
            if let other = leaders[s.shard]?[s.term], other != node.id {
                violations.append("shard \(s.shard) term \(s.term): two leaders \(other) and \(node.id)")
            }
            leaders[s.shard, default: [:]][s.term] = node.id
        }
        for batch in out {
            let to = Int(batch.to.value) - 1
            guard to >= 0, to < nodes.count else { continue }
            batchesSent += 1
            messagesSent += batch.messageCount
            let target = nodes[to]
            if isolated.contains(node.index) || isolated.contains(to) { continue }
            queue.push(.deliver(bytes: ShardBatchCodec.encode(batch), to: to, generation: target.generation),
                       at: now + settings.latency.sample(using: &rng))
        }
        for reply in replies { settle(reply) }
        workload?.driven(node.index)
    }

    // MARK: membership and placement

    func perform(_ action: Action) {
        switch action {
        case let .crash(i):
            let node = nodes[i]
            node.host = nil
            node.store = nil
            node.generation += 1
            node.fileSystem.crash()
            log.append("\(now) crash \(node.name)")
            queue.push(.placement, at: now + settings.detectionDelay)
            let generation = node.generation
            // The membership layer's verdict arrives after the detection delay.
            deferredStatus(i, generation: generation)
        case let .restart(i):
            try? start(nodes[i], founder: false)
            log.append("\(now) restart \(nodes[i].name)")
        case let .add(i):
            while nodes.count <= i { nodes.append(SimNode(index: nodes.count)) }
            try? start(nodes[i], founder: false)
            log.append("\(now) add \(nodes[i].name)")
        case let .isolate(i):
            isolated.insert(i)
            log.append("\(now) isolate \(nodes[i].name)")
            pendingVerdicts.append((now + settings.detectionDelay, i, nodes[i].generation))
            queue.push(.placement, at: now + settings.detectionDelay)
        case let .heal(i):
            isolated.remove(i)
            if nodes[i].isRunning { nodes[i].status = .alive }
            log.append("\(now) heal \(nodes[i].name)")
        case let .drain(i):
            nodes[i].draining = true
            nodes[i].drainStarted = now
            log.append("\(now) drain \(nodes[i].name)")
        }
    }

    var pendingVerdicts: [(at: Instant, node: Int, generation: Int)] = []

    func deferredStatus(_ i: Int, generation: Int) {
        pendingVerdicts.append((now + settings.detectionDelay, i, generation))
    }

    /// A draining node leaves once it votes in no group (or its drain timed out).
    func checkDrain(_ node: SimNode) {
        guard node.draining, let started = node.drainStarted, let host = node.host else { return }
        if host.votingShards.isEmpty || now - started > settings.drainTimeout {
            log.append("\(now) \(node.name) left after drain (\(host.votingShards.count) voting replicas left)")
            node.host = nil
            node.store = nil
            node.generation += 1
            node.status = .left
        }
    }

    /// The ring every node computes from the (converged) membership view.
    func currentMap() -> ShardMap {
        pendingVerdicts.removeAll { v in
            guard v.at <= now else { return false }
            let n = nodes[v.node]
            if n.generation == v.generation, !n.isRunning || isolated.contains(v.node) { n.status = .dead }
            return true
        }
        let members = nodes.filter { ($0.status == .alive || $0.status == .suspect) && !$0.draining }
            .map { RingMember(name: $0.name, status: .alive) }
        let ring = Ring(members: members, virtualNodesPerMember: settings.virtualNodesPerMember)
        return ShardMap(ring: ring, shardCount: settings.shards, replicationFactor: settings.replicas)
    }

    func updatePlacement() {
        let map = currentMap()
        var byName: [String: NodeID] = [:]
        for n in nodes { byName[n.name] = n.id }
        var targets: [ShardID: [NodeID]] = [:]
        for p in map.placements { targets[p.shard] = p.replicas.compactMap { byName[$0] } }
        lastTargets = targets
        for n in nodes where n.isRunning { n.host?.setTargets(targets) }
    }

    // MARK: clients

    func newWrite() {
        let n = writes.count
        let shard = ShardID(Int(rng.below(settings.shards)))
        let key = Array("k\(n)".utf8)
        writes.append(Write(shard: shard, key: key, value: Array("v\(n)".utf8), requestID: Array("r\(n)".utf8),
                            via: Int(rng.below(nodes.count))))
        submit(n)
    }

    /// Sends write `w` to the node the client believes leads its shard; a refusal with a
    /// leader hint redirects, anything else tries another node after a pause.
    func submit(_ w: Int) {
        guard !writes[w].acknowledged else { return }
        writes[w].attempts += 1
        let node = nodes[writes[w].via]
        guard var host = node.host else { return redirect(w, to: nil) }
        let token = newToken()
        do {
            let command = ShardCommand.put(key: writes[w].key, value: writes[w].value).encoded()
            switch try host.propose(shard: writes[w].shard, requestID: writes[w].requestID, command: command, token: token) {
            case .proposed:
                tokenToWrite[token] = (w, node.index)
                if isolated.contains(node.index) { proposedWhileIsolated += 1 }
            case .alreadyApplied: writes[w].acknowledged = true
            }
            node.host = host
            drive(node)
        } catch {
            node.host = host
            if case let .notLeader(leader?) = error { redirect(w, to: leader) } else { redirect(w, to: nil) }
        }
    }

    /// A fresh proposal token (the key-value clients and the workload share one sequence).
    func newToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    func redirect(_ w: Int, to leader: NodeID?) {
        if let leader, Int(leader.value) - 1 < nodes.count {
            writes[w].via = Int(leader.value) - 1
            queue.push(.retry(w), at: now + .milliseconds(2))
        } else {
            // Ask a replica of the placement, as a client with a ring view does.
            let replicas = lastTargets[writes[w].shard] ?? []
            if !replicas.isEmpty {
                writes[w].via = Int(replicas[Int(rng.below(replicas.count))].value) - 1
            } else {
                writes[w].via = Int(rng.below(nodes.count))
            }
            queue.push(.retry(w), at: now + .milliseconds(50))
        }
    }

    func settle(_ reply: ShardReply) {
        guard let (w, node) = tokenToWrite.removeValue(forKey: reply.token) else {
            workload?.settle(reply)
            return
        }
        switch reply.outcome {
        case .applied:
            writes[w].acknowledged = true
            if isolated.contains(node) { acknowledgedWhileIsolated += 1 }
        case .readable: break
        case .unknown: queue.push(.retry(w), at: now + .milliseconds(20))
        }
    }
}
