import ChorusBase
import ChorusMembership

/// One lane of a `ClusterSimulation`: the nodes `i` with `i mod laneCount == index`, their
/// pending events, a copy of the network state, and the lane's own random stream and trace
/// digest. Lanes run side by side for one lookahead window at a time.
///
/// Invariants:
/// - Every event carries the stamp of the lane that made it (`stamp`), unique across lanes;
///   a queue orders by (time, stamp), so moving an event between queues never reorders it.
/// - A lane touches only its own nodes and its own fields: a packet for another lane goes
///   into `outbox[lane]`, what the observer must learn into `notes` (in event order), a
///   graceful exit into `departed`. So what a window does depends on the lane's state at its
///   start alone, never on which thread ran it or when.
/// - `nodes[k] != nil` ⇔ node `k·laneCount + index` is running.
struct SimLane {
    typealias Wire = ChorusMembership.Packet

    enum Event: PacketEvent {
        case delivery(Packet<Wire>)
        case tick(node: Int32, generation: UInt32)
        case start(node: Int32)
    }

    let index: Int
    let laneCount: Int
    let nodeCount: Int
    let settings: MembershipSettings
    let wireCheck: Bool
    let seed: UInt64
    let seedNode: Int

    var nodes: [Membership?]
    var tickAt: [Instant]
    var tickGeneration: [UInt32]
    var started: [Bool]
    var restartCount: [UInt64]
    /// Every node's current life (not only this lane's): restarts happen between windows
    /// and bump every lane's copy, so a lane can tell a node's current name and address.
    var lives: [UInt32]
    let restartAs: RestartIdentity
    var queue = EventQueue<Event>()
    var outbox: [EventQueue<Event>]
    /// Where `Network.transmit` leaves a packet's copies before they are stamped.
    var staging = EventQueue<Event>()
    /// Events this lane has created: the tie-break stamp of the next one (see `stamp`).
    var created: UInt64 = 0
    var network: Network<Wire>
    var rng: SeededRandom
    var effects: [MembershipEffect] = []
    var digest = TraceDigest()
    var events = 0
    var notes: [ObserverNote] = []
    var departed: [Int32] = []
    var now = Instant.zero

    init(index: Int, of laneCount: Int, config: ClusterConfig) {
        self.index = index
        self.laneCount = laneCount
        nodeCount = config.nodes
        settings = config.settings
        wireCheck = config.wireCheck
        seed = config.seed
        seedNode = config.seeds.first ?? 0
        let own = (config.nodes - index + laneCount - 1) / laneCount
        nodes = Array(repeating: nil, count: own)
        tickAt = Array(repeating: .distantFuture, count: own)
        tickGeneration = Array(repeating: 0, count: own)
        started = Array(repeating: false, count: own)
        restartCount = Array(repeating: 0, count: own)
        lives = Array(repeating: 0, count: config.nodes)
        restartAs = config.restartAs
        queue = EventQueue(minimumCapacity: own * 8)
        outbox = Array(repeating: EventQueue<Event>(), count: laneCount)
        network = Network(nodeCount: config.nodes, model: config.network)
        // Lane 0 of a one-lane run draws exactly the stream the seed names.
        rng = SeededRandom(seed: config.seed &+ UInt64(index) &* 0xA24B_AED4_963E_E407)
    }

    /// The tie-break number of a new event: this lane's creation count, then its index.
    /// Events due at one instant run in the order of these stamps wherever they were made,
    /// so that order never depends on when a window ended and moved packets between lanes
    /// (which `--progress`, `--svg` or a test's `advance(until:)` would otherwise change).
    mutating func stamp() -> UInt64 {
        created &+= 1
        return created << 6 | UInt64(index)
    }

    /// Schedules one of this lane's own events (a start, a tick).
    mutating func schedule(_ event: Event, at time: Instant) {
        queue.push(event, at: time, sequence: stamp())
    }

    @inline(__always) func local(_ node: Int) -> Int { node / laneCount }
    @inline(__always) func lane(of node: Int) -> Int { node % laneCount }
    func node(_ i: Int) -> Membership? { nodes[local(i)] }
    func name(of i: Int) -> String { restartAs.name(i, life: lives[i]) }
    func address(of i: Int) -> Endpoint { restartAs.address(i, life: lives[i]) }

    /// Runs every event of this lane due before `end`.
    mutating func process(before end: Instant) {
        while let next = queue.nextTime, next < end {
            guard let item = queue.pop() else { break }
            now = item.time
            events += 1
            switch item.event {
            case let .delivery(p):
                guard network.arrive(p, at: now) else { continue }
                deliver(p)
            case let .tick(node, generation):
                guard generation == tickGeneration[local(Int(node))] else { continue }
                tick(Int(node))
            case let .start(node):
                start(Int(node), seedNode: seedNode, rejoin: false)
            }
        }
    }

    /// Starts (or, with `rejoin`, restarts) node `i`, joining through `seedNode`.
    mutating func start(_ i: Int, seedNode: Int, rejoin: Bool) {
        let k = local(i)
        let seedValue = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 1_000_003 &+ restartCount[k]
        guard var m = try? Membership(name: name(of: i), address: address(of: i), tags: restartAs.tags(life: lives[i]),
                                      settings: settings, seed: seedValue, now: now) else { return }
        started[k] = true
        network.restart(SimNodeID(i))
        notes.append(.started(node: Int32(i), rejoin: rejoin, at: now))
        effects.removeAll(keepingCapacity: true)
        if i != seedNode || rejoin { m.join(seeds: [address(of: seedNode)], at: now, into: &effects) }
        nodes[k] = m
        digest.mix(0x5354_4152_54 as UInt64); digest.mix(now); digest.mix(i)
        performEffects(of: i)
        reschedule(i)
    }

    mutating func deliver(_ p: Packet<Wire>) {
        let to = p.to.index, k = local(to)
        guard nodes[k] != nil else { return }
        var packet = p.message
        if wireCheck && !p.reliable {
            guard let decoded = try? PacketCodec.decode(PacketCodec.encode(packet)) else {
                fatalError("simulator wire check: a packet did not survive the codec")
            }
            packet = decoded
        }
        digest.mix(now); digest.mix(p.from); digest.mix(p.to); digest.mix(Int(packet.message.kindCode))
        effects.removeAll(keepingCapacity: true)
        nodes[k]!.receive(packet, from: address(of: p.from.index), via: p.reliable ? .stream : .datagram, at: now, into: &effects)
        performEffects(of: to)
        reschedule(to)
    }

    mutating func tick(_ i: Int) {
        let k = local(i)
        guard nodes[k] != nil else { return }
        tickAt[k] = .distantFuture
        effects.removeAll(keepingCapacity: true)
        nodes[k]!.tick(at: now, into: &effects)
        performEffects(of: i)
        if nodes[k]!.hasLeft {
            // Gone for good: the process exits after its leave was disseminated. Only this
            // lane's copy of the network reads whether one of its nodes is up; the others
            // learn it when the window ends, which changes nothing they decide.
            nodes[k] = nil
            network.exit(SimNodeID(i))
            departed.append(Int32(i))
            notes.append(.departed(node: Int32(i), at: now))
            return
        }
        reschedule(i)
    }

    /// Node `i` stops at once (memory lost).
    mutating func crash(_ i: Int) {
        let k = local(i)
        nodes[k] = nil
        tickGeneration[k] &+= 1
        tickAt[k] = .distantFuture
    }

    /// Node `i` starts a graceful leave.
    mutating func leave(_ i: Int) {
        let k = local(i)
        guard nodes[k] != nil else { return }
        effects.removeAll(keepingCapacity: true)
        nodes[k]!.leave(at: now, into: &effects)
        performEffects(of: i)
        reschedule(i)
    }

    mutating func reschedule(_ i: Int) {
        let k = local(i)
        guard let m = nodes[k] else { return }
        let d = max(m.nextDeadline, now)
        if d < tickAt[k] {
            tickAt[k] = d
            tickGeneration[k] &+= 1
            schedule(.tick(node: Int32(i), generation: tickGeneration[k]), at: d)
        }
    }

    mutating func performEffects(of i: Int) {
        for e in effects {
            switch e {
            case let .send(packet, to, via):
                let target = ClusterSimulation.index(of: to)
                // Nothing listens at a former life's port.
                guard target >= 0 && target < nodeCount, to.port == address(of: target).port else { continue }
                let bytes = PacketCodec.size(packet)
                let destination = lane(of: target)
                network.transmit(from: SimNodeID(i), to: SimNodeID(target), message: packet, bytes: bytes,
                                 reliable: via == .stream, at: now, rng: &rng, into: &staging)
                while let copy = staging.pop() {
                    let sequence = stamp()
                    if destination == index {
                        queue.push(copy.event, at: copy.time, sequence: sequence)
                    } else {
                        outbox[destination].push(copy.event, at: copy.time, sequence: sequence)
                    }
                }
            case let .event(ev):
                // Events about a former life concern no running node.
                var subject = ClusterSimulation.index(of: ev.name)
                if restartAs == .newName && subject >= 0 && subject < nodeCount && ev.name != name(of: subject) { subject = -1 }
                digest.mix(now); digest.mix(i); digest.mix(Int(ev.kind.code)); digest.mix(ev.name); digest.mix(Int(ev.incarnation))
                notes.append(.event(ev.kind, observer: Int32(i), subject: Int32(truncatingIfNeeded: subject), at: now))
            }
        }
    }
}
