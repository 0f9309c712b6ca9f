import ChorusBase
import ChorusLocks
import ChorusMembership
import ChorusNode
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage

/// A deterministic cluster of whole `Node`s: each node runs the real `Node` over the real
/// `ShardHost` and `ShardStore` on a `MemoryFileSystem` that loses unsynced writes on a
/// crash; frames cross a simulated network (latency, loss, duplication, reordering, cuts per
/// direction; membership datagrams cross it with the same faults); each node has its own
/// clock rate. Every node runs the real SWIM membership inside its `Node`: node 0 starts the
/// cluster, every other node joins through the first running node, and a crash or a partition
/// is noticed only as SWIM notices it. It drives each node exactly as the runtime's agent
/// does: after every input, drive the host (persist, fsync, send, advance), hand the replies
/// to the node, carry out its effects in order, and wake the node at its membership deadline;
/// the frames it sends are the ones the node makes of the host's batches (`Node.frames(for:)`).
/// Node 0 founds the shard set, unless `settings.bootstrapExpect` is set: then the nodes
/// found it together.
///
/// Invariants: same settings and seed ⇒ same run (events ordered by time and insertion, every
/// random choice from one seeded stream); a crashed node keeps only what it synced, and its
/// last persisted incarnation, so it restarts one above it.
public final class NodeCluster {
    public final class Slot {
        public let index: Int
        public let name: String
        public let address: Endpoint
        let fileSystem = MemoryFileSystem()
        var store: ShardStore?
        public internal(set) var node: Node?
        var generation = 0
        /// The incarnation the node last asked to persist (kept across crashes, like the
        /// agent's node state file).
        var incarnation: Incarnation = 0
        var started = false
        /// When the pending membership wake is due (simulated time), if one is queued.
        var wakeAt: Instant?
        /// When the pending tick is due (simulated time): the node's `nextTick`, as the agent
        /// arms it.
        var tickAt: Instant?
        /// Ticks this node was given (over all its lives).
        public internal(set) var ticks = 0
        /// The node's readable cache copies as an embedding reads them, kept from its
        /// `.localCopies` effects as the runtime keeps them (emptied by a crash).
        public internal(set) var localCopies = LocalCopyMirror()
        /// A paused node neither ticks nor receives (a stop-the-world pause).
        public var paused = false
        /// How fast this node's clock runs against simulated time (1 = exact).
        public var clockRate = 1.0
        init(_ index: Int) {
            self.index = index
            name = "n\(index)"
            address = Endpoint(ip: IPAddress(ipv4: 0x7F00_0100 | UInt32(truncatingIfNeeded: index + 1)), port: 7946)
        }
        public var isRunning: Bool { node != nil }
    }

    /// How the simulated network treats each frame.
    public struct Faults: Sendable {
        public var loss = 0.0
        public var duplication = 0.0
        /// Probability that a frame is held back up to `reorderWindow` (overtaken by later ones).
        public var reorder = 0.0
        public var reorderWindow: Interval = .milliseconds(20)
        public var latency: Interval = .milliseconds(1)
        public init() {}
    }

    enum Event {
        case tick(Int, generation: Int)
        case deliver(from: Int, to: Int, frame: [UInt8], generation: Int, datagram: Bool)
        case wake(Int, generation: Int)
        case timer(UInt64)
    }

    public let settings: NodeSettings
    /// The SWIM settings every node runs with.
    public let membershipSettings: MembershipSettings
    public var faults = Faults()
    public private(set) var now = Instant.zero
    var queue = EventQueue<Event>()
    public private(set) var slots: [Slot] = []
    var rng: SeededRandom
    /// Directions cut: (from, to).
    var cut: Set<[Int]> = []
    public private(set) var replies: [ClientTicket: (node: Int, at: Instant, reply: ClientReply)] = [:]
    /// Called for every reply, as it is given (the workload's hook).
    public var onReply: ((ClientTicket, Int, ClientReply) -> Void)?
    /// Called for every timer set with `after(_:)`.
    public var onTimer: ((UInt64) -> Void)?
    /// Called after every event (checkers watching the nodes' tables).
    public var afterEvent: (() -> Void)?
    var nextTicket: UInt64 = 1
    public private(set) var framesSent = 0, framesLost = 0, framesDuplicated = 0
    public private(set) var datagramsSent = 0
    /// Member events every node reported, in order (for tests and checkers).
    public private(set) var memberEvents: [(node: Int, event: MemberEvent)] = []

    public init(nodes: Int, settings: NodeSettings, seed: UInt64, clockRates: [Double] = [],
                membership: MembershipSettings = NodeCluster.membershipSettings()) throws {
        self.settings = settings
        membershipSettings = membership
        rng = SeededRandom(seed: seed)
        for i in 0..<nodes {
            let slot = Slot(i)
            if i < clockRates.count { slot.clockRate = clockRates[i] }
            slots.append(slot)
        }
        for i in 0..<nodes { try start(i, founder: i == 0) }
    }

    /// Node settings for small simulated clusters.
    public static func settings(shards: Int = 4) -> NodeSettings {
        var s = NodeSettings()
        s.placement.shardCount = shards
        s.placement.replicationFactor = 3
        s.placement.virtualNodesPerMember = 16
        return s
    }

    /// SWIM settings for small simulated clusters: protocol periods five times shorter than
    /// the defaults (the simulated network's 1 ms latency allows it), so members converge and
    /// a crash is declared dead within about two simulated seconds — about the time a Raft
    /// election takes, as on a real cluster.
    public static func membershipSettings() -> MembershipSettings {
        var m = MembershipSettings()
        m.probeInterval = .milliseconds(200)
        m.probeTimeout = .milliseconds(100)
        m.minProbeTimeout = .milliseconds(20)
        m.gossipInterval = .milliseconds(40)
        m.pushPullInterval = .seconds(2)
        m.joinCatchUp = .milliseconds(400)
        m.reconnectInterval = .seconds(1)
        m.joinTimeout = .milliseconds(400)
        m.joinBackoffCap = .seconds(2)
        m.leaveTimeout = .milliseconds(400)
        return m
    }

    func start(_ i: Int, founder: Bool) throws {
        let slot = slots[i]
        let store = try ShardStore(directory: "/data", fileSystem: slot.fileSystem)
        var host = try ShardHost<ShardState>(id: NodeID(UInt64(i + 1)), settings: settings.shards, seed: rng.next(),
                                             epoch: try store.loadEpoch(), restoring: try store.loadGroups())
        if founder && host.epoch == nil && settings.bootstrapExpect == nil {
            try host.bootstrap(shards: (0..<settings.placement.shardCount).map { ShardID($0) }, epoch: 0xC0FFEE)
        }
        slot.store = store
        slot.generation += 1
        let node = try Node(name: slot.name, host: host, settings: settings, seed: rng.next(), life: UInt64(slot.generation))
        // A restart starts one above the incarnation persisted in its last life (as the agent does).
        if slot.started { slot.incarnation &+= 1 }
        slot.started = true
        try node.startMembership(MembershipStart(address: slot.address, api: slot.address, incarnation: slot.incarnation,
                                                 settings: membershipSettings, seed: rng.next()), at: time(i))
        slot.node = node
        slot.paused = false
        slot.wakeAt = nil
        slot.tickAt = now + settings.tick
        queue.push(.tick(i, generation: slot.generation), at: now + settings.tick)
        // Join through the first other running node; the first node starts the cluster.
        let seed = slots.first { $0.index != i && $0.isRunning }
        var effects: [NodeEffect] = []
        node.join(seeds: seed.map { [$0.address] } ?? [], at: time(i), into: &effects)
        carry(effects, from: i)
    }

    // MARK: faults

    /// Crashes node `i`: what it did not fsync is lost, and so is all its soft state.
    public func crash(_ i: Int) {
        slots[i].fileSystem.crash()
        slots[i].store?.close()
        slots[i].store = nil
        slots[i].node = nil
        slots[i].localCopies.removeAll()
        slots[i].generation += 1
    }

    /// Crashes node `i` and loses the frames it sent that are still on the wire (a crash
    /// right after a send: the network may drop them).
    public func crashLosingInFlight(_ i: Int) {
        var kept: [(Instant, Event)] = []
        while let e = queue.pop() {
            if case let .deliver(from, _, _, _, _) = e.event, from == i { continue }
            kept.append((e.time, e.event))
        }
        for (t, e) in kept { queue.push(e, at: t) }
        crash(i)
    }

    /// Starts a crashed node again from what it persisted.
    public func restart(_ i: Int) throws {
        guard slots[i].node == nil else { return }
        try start(i, founder: false)
    }

    public func isolate(_ i: Int) {
        for j in slots.indices where j != i { cut.insert([i, j]); cut.insert([j, i]) }
    }

    /// Cuts one direction only.
    public func cut(from i: Int, to j: Int) { cut.insert([i, j]) }

    public func heal() { cut = [] }

    public var isCut: Bool { !cut.isEmpty }

    /// Changes each time node `i` crashes or starts (a request sent in one generation gets no
    /// answer from the next).
    public func slotGeneration(_ i: Int) -> Int { slots[i].generation }

    /// Node `i`'s clocks: simulated time at its clock rate.
    public func time(_ i: Int) -> NodeTime {
        let local = Instant(nanoseconds: Int64((Double(now.nanoseconds) * slots[i].clockRate).rounded()))
        return NodeTime(now: local, wallMillis: 1_700_000_000_000 &+ UInt64(max(0, local.nanoseconds / 1_000_000)))
    }

    // MARK: running

    public func run(for interval: Interval) { run(until: now + interval) }

    /// Runs events until `end`, or until `stop` says so after an event.
    public func run(until end: Instant, stop: (NodeCluster) -> Bool = { _ in false }) {
        while let next = queue.peek(), next.time <= end {
            guard let e = queue.pop() else { break }
            now = e.time
            switch e.event {
            case let .tick(i, generation):
                let s = slots[i]
                // Only the latest tick queued counts (an earlier `nextTick` queues another).
                guard let node = s.node, s.generation == generation, s.tickAt == now else { continue }
                guard !s.paused else {
                    // A paused node looks again one tick later (on its own clock).
                    s.tickAt = now + Interval(seconds: settings.tick.seconds / s.clockRate)
                    queue.push(.tick(i, generation: generation), at: now + Interval(seconds: settings.tick.seconds / s.clockRate))
                    continue
                }
                s.tickAt = nil
                s.ticks += 1
                var effects: [NodeEffect] = []
                node.tick(at: time(i), into: &effects)
                carry(effects, from: i)
            case let .deliver(from, to, frame, generation, datagram):
                let s = slots[to]
                guard let node = s.node, s.generation == generation, !s.paused else { continue }
                var effects: [NodeEffect] = []
                if datagram {
                    node.receive(datagram: frame, from: slots[from].address, at: time(to), into: &effects)
                } else {
                    node.receive(frame: frame, from: slots[from].address, at: time(to), into: &effects)
                }
                carry(effects, from: to)
            case let .wake(i, generation):
                let s = slots[i]
                // Only the latest wake queued counts (an earlier deadline queues another).
                guard let node = s.node, s.generation == generation, s.wakeAt == now else { continue }
                s.wakeAt = nil
                // A paused node's membership waits for its next tick after the pause.
                guard !s.paused else { continue }
                var effects: [NodeEffect] = []
                node.wake(at: time(i), into: &effects)
                carry(effects, from: i)
            case let .timer(tag):
                onTimer?(tag)
            }
            afterEvent?()
            if stop(self) { return }
        }
        now = max(now, end)
    }

    /// Calls `onTimer(tag)` after `delay`.
    public func after(_ delay: Interval, tag: UInt64) {
        queue.push(.timer(tag), at: now + delay)
    }

    /// Drives node `i`'s host and carries out the node's effects, as the runtime does.
    func carry(_ effects: [NodeEffect], from i: Int) {
        var pending = effects
        while true {
            for effect in pending {
                switch effect {
                case let .reply(ticket, reply):
                    replies[ticket] = (i, now, reply)
                    onReply?(ticket, i, reply)
                case let .send(to, frame), let .streamPacket(to, frame, _): send(frame, from: i, to: to)
                case let .datagram(to, bytes, _): send(bytes, from: i, to: to, datagram: true)
                case let .persistIncarnation(incarnation): slots[i].incarnation = incarnation
                case let .memberEvent(event): memberEvents.append((i, event))
                case let .localCopies(changes): slots[i].localCopies.apply(changes)
                case .log: break
                }
            }
            pending = []
            guard let node = slots[i].node, let store = slots[i].store, node.host.hasReady else {
                scheduleWake(i)
                scheduleTick(i)
                return
            }
            do {
                let r = try store.drive(&node.host) { batches in
                    for (address, frame) in node.frames(for: batches) { send(frame, from: i, to: address) }
                }
                node.shardsAdvanced(r, at: time(i), into: &pending)
            } catch {
                preconditionFailure("storage failed in the simulation: \(error)")
            }
        }
    }

    /// Queues a wake for node `i` at its membership deadline (on its own clock), unless an
    /// earlier one is queued.
    func scheduleWake(_ i: Int) {
        let s = slots[i]
        guard let deadline = s.node?.nextDeadline else { return }
        let at = max(now, Instant(nanoseconds: Int64((Double(deadline.nanoseconds) / s.clockRate).rounded(.up))))
        if let pending = s.wakeAt, pending <= at { return }
        s.wakeAt = at
        queue.push(.wake(i, generation: s.generation), at: at)
    }

    /// Queues node `i`'s tick at its `nextTick` (on its own clock), unless an earlier one is
    /// queued: the agent's rule (`Agent.followTickSchedule`).
    func scheduleTick(_ i: Int) {
        let s = slots[i]
        guard let due = s.node?.nextTick, !s.paused else { return }
        let at = max(now, Instant(nanoseconds: Int64((Double(due.nanoseconds) / s.clockRate).rounded(.up))))
        if let pending = s.tickAt, pending <= at { return }
        s.tickAt = at
        queue.push(.tick(i, generation: s.generation), at: at)
    }

    func send(_ frame: [UInt8], from i: Int, to address: Endpoint, datagram: Bool = false) {
        guard let j = slots.firstIndex(where: { $0.address == address }) else { return }
        if datagram { datagramsSent += 1 } else { framesSent += 1 }
        guard !cut.contains([i, j]) else { framesLost += 1; return }
        if faults.loss > 0, rng.unit() < faults.loss { framesLost += 1; return }
        var copies = 1
        if faults.duplication > 0, rng.unit() < faults.duplication { copies = 2; framesDuplicated += 1 }
        for _ in 0..<copies {
            var delay = faults.latency
            if faults.reorder > 0, rng.unit() < faults.reorder {
                delay = delay + Interval(seconds: rng.unit() * faults.reorderWindow.seconds)
            }
            queue.push(.deliver(from: i, to: j, frame: frame, generation: slots[j].generation, datagram: datagram), at: now + delay)
        }
    }

    /// A uniform draw from the cluster's stream (workloads share it, so one seed replays all).
    public func random() -> UInt64 { rng.next() }
    public func unit() -> Double { rng.unit() }

    // MARK: clients

    /// Hands `request` to node `i`; the reply lands in `replies` under the ticket (nothing
    /// happens when the node is down or paused: the client never hears back).
    @discardableResult
    public func submit(_ request: ClientRequest, to i: Int) -> ClientTicket {
        submit(request, to: i, ticket: reserveTicket())
    }

    /// A ticket for `submit(_:to:ticket:)`, so a caller can note it before a reply that may
    /// come at once.
    public func reserveTicket() -> ClientTicket {
        defer { nextTicket += 1 }
        return ClientTicket(nextTicket)
    }

    @discardableResult
    public func submit(_ request: ClientRequest, to i: Int, ticket: ClientTicket) -> ClientTicket {
        guard let node = slots[i].node, !slots[i].paused else { return ticket }
        var effects: [NodeEffect] = []
        node.handle(request, ticket: ticket, at: time(i), into: &effects)
        carry(effects, from: i)
        return ticket
    }

    /// Submits and runs until answered (or `timeout`).
    public func ask(_ request: ClientRequest, at i: Int, timeout: Interval = .seconds(10)) -> ClientReply? {
        let t = submit(request, to: i)
        run(until: now + timeout) { $0.replies[t] != nil }
        return replies[t]?.reply
    }

    /// The running, unpaused node that leads `shard`, if any.
    public func leader(of shard: ShardID) -> Int? {
        slots.indices.first { slots[$0].node?.host.isLeader(of: shard) == true && !slots[$0].paused }
    }

    public func table(_ i: Int, _ shard: ShardID) -> LockTable? { slots[i].node?.host.machine(of: shard)?.locks }

    /// Runs until every shard has a leader and three voters.
    public func settle(timeout: Interval = .seconds(30)) -> Bool {
        let shards = (0..<settings.placement.shardCount).map { ShardID($0) }
        run(until: now + timeout) { c in
            shards.allSatisfy { s in
                guard let l = c.leader(of: s), let status = c.slots[l].node?.host.status(of: s) else { return false }
                return status.voters.count == 3 && status.learners.isEmpty
            }
        }
        return shards.allSatisfy { leader(of: $0) != nil }
    }
}
