import Foundation
import ChorusBase
import ChorusMembership

/// What a cluster simulation runs: size, time, network, protocol settings and actions.
public struct ClusterConfig: Sendable {
    public var nodes: Int = 100
    public var duration: Interval = .seconds(60)
    public var seed: UInt64 = 1
    public var network = NetworkModel()
    public var settings = MembershipSettings()
    /// The seeds start first; the others start spread evenly over this span and join
    /// through the first seed (a bootstrap through one seed).
    public var joinSpread: Interval = .seconds(2)
    public var seeds: [Int] = [0]
    /// What happens during the run, in time order.
    public var actions: [TimedAction] = []
    /// Round-trip every datagram through the wire codec (slower; proves the bytes work).
    public var wireCheck = false
    /// Sample the per-view alive counts every second for the timeline.
    public var sampleTimeline = false
    /// Print a progress line to standard error every 10 simulated seconds.
    public var progress = false
    public init() {}
}

/// Runs a whole cluster of `Membership` state machines — the same code the agent runs — on a
/// virtual clock and a simulated network, single-threaded and deterministic: the same
/// config gives the same ordered event trace and so the same digest.
///
/// Invariant: `nodes[i] != nil` ⇔ node i is running (started, not crashed, not departed).
public struct ClusterSimulation {
    typealias Wire = ChorusMembership.Packet

    enum Event: PacketEvent {
        case delivery(Packet<Wire>)
        case tick(node: Int32, generation: UInt32)
        case start(node: Int32)
        case action(index: Int32)
        case check
    }

    public let config: ClusterConfig
    var nodes: [Membership?]
    var tickAt: [Instant]
    var tickGeneration: [UInt32]
    var queue = EventQueue<Event>()
    var network: Network<Wire>
    var rng: SeededRandom
    var now = Instant.zero
    var effects: [MembershipEffect] = []
    var digest = TraceDigest()
    var observer: Observer
    var eventCount = 0
    var started: [Bool]
    var restartCount: [UInt64]
    var wallStart: Date?
    var nextProgress = Instant.zero
    /// The config's actions, then actions added while running (the end of a slowdown).
    var actions: [ScenarioAction]

    public init(_ config: ClusterConfig) {
        self.config = config
        nodes = Array(repeating: nil, count: config.nodes)
        tickAt = Array(repeating: .distantFuture, count: config.nodes)
        tickGeneration = Array(repeating: 0, count: config.nodes)
        started = Array(repeating: false, count: config.nodes)
        restartCount = Array(repeating: 0, count: config.nodes)
        actions = config.actions.map(\.action)
        network = Network(nodeCount: config.nodes, model: config.network)
        rng = SeededRandom(seed: config.seed)
        observer = Observer(nodes: config.nodes)
        queue = EventQueue(minimumCapacity: config.nodes * 8)
    }

    // MARK: naming

    static func name(_ i: Int) -> String { "n\(i)" }
    static func address(_ i: Int) -> Endpoint { Endpoint(ip: IPAddress(ipv4: 0x0A00_0001 &+ UInt32(i)), port: 7946) }
    static func index(of address: Endpoint) -> Int { Int(address.ip.ipv4 &- 0x0A00_0001) }
    static func index(of name: String) -> Int {
        var v = 0
        for b in name.utf8.dropFirst() { v = v * 10 + Int(b &- 48) }
        return v
    }

    // MARK: running

    /// Runs to the end of the configured duration and reports.
    public mutating func run() -> ClusterReport {
        advance(until: Instant.zero + config.duration)
        return report()
    }

    /// Processes every event up to `end` (at most the configured duration), so a test can
    /// look at the cluster part-way through a run.
    public mutating func advance(until end: Instant) {
        if wallStart == nil {
            wallStart = Date()
            for i in 0..<config.nodes {
                let at = config.seeds.contains(i) ? Instant.zero
                    : Instant(nanoseconds: config.joinSpread.nanoseconds * Int64(i) / Int64(max(1, config.nodes - 1)))
                _ = queue.push(.start(node: Int32(i)), at: at)
            }
            for (k, a) in config.actions.enumerated() { _ = queue.push(.action(index: Int32(k)), at: a.time) }
            _ = queue.push(.check, at: .zero)
        }
        let limit = min(end, Instant.zero + config.duration)
        while let next = queue.peek(), next.time <= limit {
            guard let item = queue.pop() else { break }
            now = item.time
            eventCount += 1
            switch item.event {
            case let .delivery(p):
                guard network.arrive(p, at: now) else { continue }
                deliver(p)
            case let .tick(node, generation):
                guard generation == tickGeneration[Int(node)] else { continue }
                tick(Int(node))
            case let .start(node):
                start(Int(node), rejoin: false)
            case let .action(index):
                perform(actions[Int(index)])
            case .check:
                if config.progress && now >= nextProgress {
                    nextProgress = now + .seconds(10)
                    let line = String(format: "sim: t=%.0fs events=%d rss=%.0fMiB wall=%.0fs\n", now.seconds, eventCount,
                                      Double(ProcessMemory.currentResidentBytes() ?? 0) / 1_048_576, Date().timeIntervalSince(wallStart ?? Date()))
                    FileHandle.standardError.write(Data(line.utf8))
                }
                observer.check(now: now, nodes: nodes, sample: config.sampleTimeline)
                if config.sampleTimeline || config.progress || observer.convergedAt == nil {
                    _ = queue.push(.check, at: now + (observer.convergedAt == nil ? .milliseconds(100) : .seconds(1)))
                }
            }
        }
        now = max(now, limit)
    }

    /// The figures of the run so far.
    public mutating func report() -> ClusterReport {
        observer.check(now: now, nodes: nodes, sample: false)
        let wall = Date().timeIntervalSince(wallStart ?? Date())
        return observer.report(config: config, now: now, nodes: nodes, network: network.counters,
                               events: eventCount, digest: digest.hex, wallSeconds: wall)
    }

    /// For diagnosis: live observers that do not list every live node alive, with what they miss.
    public func stragglers(limit: Int = 5) -> [String] {
        var out: [String] = []
        let want = Int32(observer.liveCount - 1)
        for o in 0..<config.nodes where observer.live[o] && observer.aliveSeen[o] != want && out.count < limit {
            var missing: [String] = []
            for x in 0..<config.nodes where x != o && observer.live[x] && !observer.bit(o, x) && missing.count < 5 {
                let st = nodes[o]?.status(of: Self.name(x)).map { "\($0)" } ?? "unknown"
                missing.append("n\(x)=\(st)")
            }
            out.append("n\(o) sees \(observer.aliveSeen[o])/\(want) missing \(missing)")
        }
        return out
    }

    /// The current simulated time.
    public var time: Instant { now }

    /// How node `observer` sees node `subject` (nil: unknown, or the observer is down).
    public func status(of subject: Int, seenBy observer: Int) -> MemberStatus? {
        nodes[observer]?.status(of: Self.name(subject))
    }

    /// Whether node `i` is running.
    public func isRunning(_ i: Int) -> Bool { nodes[i] != nil }

    /// The protocol counters of node `i`, if it runs.
    public func counters(of i: Int) -> MembershipCounters? { nodes[i]?.counters }

    mutating func start(_ i: Int, rejoin: Bool) {
        let seedNode: Int
        if !rejoin {
            seedNode = config.seeds.first ?? 0
        } else {
            // A restarted node is configured with the seeds and a few more; it uses the first
            // that runs.
            let candidates = config.seeds + Array(0..<min(3, config.nodes))
            seedNode = candidates.first { nodes[$0] != nil && $0 != i } ?? 0
        }
        let seedValue = config.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 1_000_003 &+ restartCount[i]
        guard var m = try? Membership(name: Self.name(i), address: Self.address(i), settings: config.settings,
                                      seed: seedValue, now: now) else { return }
        started[i] = true
        network.restart(SimNodeID(i))
        observer.nodeStarted(i, now: now)
        if !rejoin { observer.pendingStarts -= 1 }
        effects.removeAll(keepingCapacity: true)
        if i != seedNode || rejoin { m.join(seeds: [Self.address(seedNode)], at: now, into: &effects) }
        nodes[i] = m
        digest.mix(0x5354_4152_54 as UInt64); digest.mix(now); digest.mix(i)
        performEffects(of: i)
        reschedule(i)
    }

    mutating func deliver(_ p: Packet<Wire>) {
        let to = p.to.index
        guard nodes[to] != nil else { return }
        var packet = p.message
        if config.wireCheck && !p.reliable {
            guard let decoded = try? PacketCodec.decode(PacketCodec.encode(packet)) else {
                fatalError("simulator wire check: a packet did not survive the codec")
            }
            packet = decoded
        }
        digest.mix(now); digest.mix(p.from); digest.mix(p.to); digest.mix(Int(packet.message.kindCode))
        effects.removeAll(keepingCapacity: true)
        nodes[to]!.receive(packet, from: Self.address(p.from.index), at: now, into: &effects)
        performEffects(of: to)
        reschedule(to)
    }

    mutating func tick(_ i: Int) {
        guard nodes[i] != nil else { return }
        tickAt[i] = .distantFuture
        effects.removeAll(keepingCapacity: true)
        nodes[i]!.tick(at: now, into: &effects)
        performEffects(of: i)
        if nodes[i]!.hasLeft {
            // Gone for good: the process exits after its leave was disseminated.
            nodes[i] = nil
            network.crash(SimNodeID(i))
            observer.nodeDeparted(i, now: now, crashed: false)
            return
        }
        reschedule(i)
    }

    mutating func reschedule(_ i: Int) {
        guard let m = nodes[i] else { return }
        let d = max(m.nextDeadline, now)
        if d < tickAt[i] {
            tickAt[i] = d
            tickGeneration[i] &+= 1
            _ = queue.push(.tick(node: Int32(i), generation: tickGeneration[i]), at: d)
        }
    }

    mutating func performEffects(of i: Int) {
        for e in effects {
            switch e {
            case let .send(packet, to, via):
                let target = Self.index(of: to)
                guard target >= 0 && target < config.nodes else { continue }
                let bytes = PacketCodec.size(packet)
                network.transmit(from: SimNodeID(i), to: SimNodeID(target), message: packet, bytes: bytes,
                                 reliable: via == .stream, at: now, rng: &rng, into: &queue)
            case let .event(ev):
                digest.mix(now); digest.mix(i); digest.mix(Int(ev.kind.code)); digest.mix(ev.name); digest.mix(Int(ev.incarnation))
                observer.record(ev, observer: i, subject: Self.index(of: ev.name), now: now)
            }
        }
    }

    func running() -> [SimNodeID] { (0..<config.nodes).filter { nodes[$0] != nil }.map { SimNodeID($0) } }

    mutating func perform(_ action: ScenarioAction) {
        digest.mix(0x4143_54 as UInt64); digest.mix(now)
        switch action {
        case let .crash(selection):
            for v in selection.resolve(among: running(), using: &rng).map(\.index) where v < config.nodes && nodes[v] != nil {
                nodes[v] = nil
                network.crash(SimNodeID(v))
                tickGeneration[v] &+= 1
                tickAt[v] = .distantFuture
                observer.nodeDeparted(v, now: now, crashed: true)
            }
        case let .restart(selection):
            let down = (0..<config.nodes).filter { nodes[$0] == nil && started[$0] }.map { SimNodeID($0) }
            for v in selection.resolve(among: down, using: &rng).map(\.index) where v < config.nodes && nodes[v] == nil && started[v] {
                restartCount[v] &+= 1
                start(v, rejoin: true)
            }
        case let .leave(selection):
            for v in selection.resolve(among: running(), using: &rng).map(\.index) where v < config.nodes && nodes[v] != nil {
                effects.removeAll(keepingCapacity: true)
                nodes[v]!.leave(at: now, into: &effects)
                observer.nodeLeaving(v, now: now)
                performEffects(of: v)
                reschedule(v)
            }
        case let .partition(groups):
            network.partition.split(into: groups)
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "partition", color: "#9467bd"))
        case let .cut(from, to):
            network.partition.cut(from: from, to: to)
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "cut", color: "#9467bd"))
        case .heal:
            network.partition.heal()
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "heal", color: "#17becf"))
        case let .slow(selection, extra, until):
            let chosen = selection.resolve(among: running(), using: &rng)
            for v in chosen where v.index < config.nodes { network.setExtraLatency(extra, for: v) }
            if let until, extra > .zero {
                let end = Instant.zero + Interval(seconds: until)
                if end > now {
                    actions.append(.slow(.nodes(chosen), extraLatency: .zero, until: nil))
                    _ = queue.push(.action(index: Int32(actions.count - 1)), at: end)
                }
            }
        case let .loss(p):
            network.model.loss = p
        }
    }
}

extension Message {
    /// A stable small code per message type, for the trace digest.
    var kindCode: UInt8 {
        switch self {
        case .ping: return 1
        case .pingReq: return 2
        case .ack: return 3
        case .nack: return 4
        case .gossip: return 5
        case .pushPull: return 6
        }
    }
}

extension MemberEvent.Kind {
    var code: UInt8 {
        switch self {
        case .joined: return 1
        case .suspect: return 2
        case .alive: return 3
        case .dead: return 4
        case .left: return 5
        case .updated: return 6
        }
    }
}
