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
    /// Lanes the nodes are dealt into (nil: two for 1,000 nodes or more, else one). More
    /// than one needs a network whose least delay is positive; otherwise one is used.
    public var lanes: Int?
    /// Threads that run the lanes (nil: one per core, at most one per lane). The result
    /// never depends on it.
    public var threads: Int?
    /// What a restarted node comes back as: the same member, or one with new tags, a new
    /// address or a new name.
    public var restartAs = RestartIdentity.sameName
    public init() {}
}

/// Runs a whole cluster of `Membership` state machines — the same code the agent runs — on a
/// virtual clock and a simulated network, deterministically: the same config gives the same
/// ordered event trace in every lane and so the same digest.
///
/// The nodes are dealt round-robin into `laneCount` lanes (`SimLane`). When the network's
/// least delay (the lookahead L) is positive, lanes run side by side, on as many threads as
/// there are cores, one window at a time: a window runs every lane's events before
/// `t + L`, where `t` is the earliest pending event, so nothing sent inside it can arrive
/// inside it on another lane; packets between lanes, network-wide effects and observer
/// notes are then merged in lane order. Scenario actions and convergence checks run alone
/// between windows. The lane count is a function of the config, never of the machine, so a
/// seed replays the same run on any number of cores.
///
/// Invariant: a lane's `nodes[k] != nil` ⇔ that node is running (started, not crashed, not
/// departed).
public struct ClusterSimulation {
    typealias Wire = ChorusMembership.Packet

    /// What runs between windows, with every lane stopped.
    enum GlobalEvent {
        case action(index: Int32)
        case check
    }

    public let config: ClusterConfig
    /// Lanes, and how far a window may reach past the earliest pending event.
    let laneCount: Int
    let lookahead: Interval
    var lanes: [SimLane]
    var queue = EventQueue<GlobalEvent>()
    var rng: SeededRandom
    var now = Instant.zero
    var digest = TraceDigest()
    var observer: Observer
    var globalEvents = 0
    var wallStart: Date?
    var nextProgress = Instant.zero
    /// The config's actions, then actions added while running (the end of a slowdown).
    var actions: [ScenarioAction]

    public init(_ config: ClusterConfig) {
        self.config = config
        let lookahead = config.network.minimumLatency
        let wanted = config.lanes ?? ClusterSimulation.defaultLanes(nodes: config.nodes, lookahead: lookahead)
        // At most 64 lanes: a lane's index fills the low 6 bits of its event stamps.
        let count = lookahead > .zero ? max(1, min(wanted, config.nodes, 64)) : 1
        laneCount = count
        self.lookahead = lookahead
        lanes = (0..<count).map { SimLane(index: $0, of: count, config: config) }
        actions = config.actions.map(\.action)
        // The lanes' network streams are derived from the seed; this one picks crash victims.
        rng = SeededRandom(seed: config.seed ^ 0x5CE7_A210_0000_0001)
        observer = Observer(nodes: config.nodes)
    }

    /// Two lanes once a cluster is large enough for the work of a window to outweigh
    /// handing it to a second thread; one below that (and whenever there is no lookahead).
    static func defaultLanes(nodes: Int, lookahead: Interval) -> Int {
        nodes >= 1_000 && lookahead >= .microseconds(100) ? 2 : 1
    }

    // MARK: naming

    static func name(_ i: Int) -> String { "n\(i)" }
    static func address(_ i: Int) -> Endpoint { Endpoint(ip: IPAddress(ipv4: 0x0A00_0001 &+ UInt32(i)), port: 7946) }
    static func index(of address: Endpoint) -> Int { Int(address.ip.ipv4 &- 0x0A00_0001) }
    /// The node index in a name `n<i>` or `n<i>.<life>`.
    static func index(of name: String) -> Int {
        var v = 0
        for b in name.utf8.dropFirst() {
            guard b != UInt8(ascii: ".") else { break }
            v = v &* 10 &+ Int(b &- 48)
        }
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
                // In floating point: spread × index overflows Int64 for a long spread over
                // many nodes (a million seconds over a million nodes is 10²¹ ns).
                let share = Double(i) / Double(max(1, config.nodes - 1))
                let at = config.seeds.contains(i) ? Instant.zero
                    : Instant.zero + config.joinSpread.scaled(share)
                lanes[i % laneCount].schedule(.start(node: Int32(i)), at: at)
            }
            for (k, a) in config.actions.enumerated() { _ = queue.push(.action(index: Int32(k)), at: a.time) }
            _ = queue.push(.check, at: .zero)
        }
        let limit = min(end, Instant.zero + config.duration)
        let threads = max(1, min(laneCount, config.threads ?? ProcessInfo.processInfo.activeProcessorCount))
        while true {
            let laneNext = lanes.compactMap(\.queue.nextTime).min()
            if let g = queue.nextTime, g <= limit, laneNext.map({ g <= $0 }) ?? true {
                guard let item = queue.pop() else { break }
                now = item.time
                globalEvents += 1
                switch item.event {
                case let .action(index): perform(actions[Int(index)])
                case .check: check()
                }
                mergeLanes()
                continue
            }
            guard let first = laneNext, first <= limit else { break }
            var windowEnd = laneCount > 1 ? first + lookahead : Instant.distantFuture
            if let g = queue.nextTime { windowEnd = min(windowEnd, g) }
            windowEnd = min(windowEnd, limit + Interval(nanoseconds: 1))
            runLanes(before: windowEnd, threads: threads)
            mergeLanes()
            now = max(now, lanes.map(\.now).max() ?? now)
        }
        now = max(now, limit)
        for k in lanes.indices { lanes[k].now = max(lanes[k].now, now) }
    }

    mutating func runLanes(before end: Instant, threads: Int) {
        guard threads > 1 else {
            for k in lanes.indices { lanes[k].process(before: end) }
            return
        }
        lanes.withUnsafeMutableBufferPointer { buffer in
            let shared = LaneBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: buffer.count) { k in shared.buffer[k].process(before: end) }
        }
    }

    /// After a window or a global step: packets cross to their lanes, exits reach every
    /// network copy, and the observer takes the notes in time order (ties in lane order).
    mutating func mergeLanes() {
        if laneCount > 1 {
            for source in lanes.indices {
                for target in lanes.indices where target != source {
                    while let item = lanes[source].outbox[target].pop() {
                        lanes[target].queue.push(item.event, at: item.time, sequence: item.sequence)
                    }
                }
                for i in lanes[source].departed {
                    for other in lanes.indices where other != source { lanes[other].network.exit(SimNodeID(Int(i))) }
                }
                lanes[source].departed.removeAll(keepingCapacity: true)
            }
        }
        // The notes are taken out of the lanes first: reading them in place through
        // `lanes[k]` copies a whole lane per note in a debug build.
        var batches: [[ObserverNote]] = []
        batches.reserveCapacity(laneCount)
        for k in lanes.indices {
            var notes: [ObserverNote] = []
            swap(&notes, &lanes[k].notes)
            batches.append(notes)
        }
        var cursors = [Int](repeating: 0, count: laneCount)
        while true {
            var pick = -1
            for k in batches.indices where cursors[k] < batches[k].count {
                if pick < 0 || batches[k][cursors[k]].time < batches[pick][cursors[pick]].time { pick = k }
            }
            guard pick >= 0 else { break }
            apply(batches[pick][cursors[pick]])
            cursors[pick] += 1
        }
        for k in lanes.indices {
            batches[k].removeAll(keepingCapacity: true)
            swap(&batches[k], &lanes[k].notes)
        }
    }

    mutating func apply(_ note: ObserverNote) {
        switch note {
        case let .event(kind, o, s, at):
            observer.record(kind, observer: Int(o), subject: Int(s), now: at)
        case let .started(i, rejoin, at):
            observer.nodeStarted(Int(i), now: at)
            if !rejoin { observer.pendingStarts -= 1 }
            if laneCount > 1 {
                for k in lanes.indices where k != Int(i) % laneCount { lanes[k].network.restart(SimNodeID(Int(i))) }
            }
        case let .departed(i, at):
            observer.nodeDeparted(Int(i), now: at, crashed: false)
        }
    }

    mutating func check() {
        if config.progress && now >= nextProgress {
            nextProgress = now + .seconds(10)
            let line = String(format: "sim: t=%.0fs events=%d rss=%.0fMiB wall=%.0fs\n", now.seconds, eventCount,
                              Double(ProcessMemory.currentResidentBytes() ?? 0) / 1_048_576, Date().timeIntervalSince(wallStart ?? Date()))
            FileHandle.standardError.write(Data(line.utf8))
        }
        let lanes = self.lanes, laneCount = self.laneCount
        observer.check(now: now, sample: config.sampleTimeline) { lanes[$0 % laneCount].node($0)?.count(of: .alive) }
        if config.sampleTimeline || config.progress || observer.convergedAt == nil {
            _ = queue.push(.check, at: now + (observer.convergedAt == nil ? .milliseconds(100) : .seconds(1)))
        }
    }

    /// Events processed so far, in every lane and between windows.
    public var eventCount: Int { lanes.reduce(globalEvents) { $0 + $1.events } }

    /// The trace digest: the global steps' digest, then each lane's, in lane order.
    var traceDigest: TraceDigest {
        var d = digest
        for lane in lanes { d.mix(lane.digest.hex) }
        return d
    }

    /// Every node, running or not, in index order.
    var allNodes: [Membership?] { (0..<config.nodes).map { node($0) } }

    /// The figures of the run so far.
    public mutating func report() -> ClusterReport {
        mergeLanes()
        let nodes = allNodes
        observer.check(now: now, sample: false) { nodes[$0]?.count(of: .alive) }
        let wall = Date().timeIntervalSince(wallStart ?? Date())
        var counters = NetworkCounters()
        for lane in lanes { counters.add(lane.network.counters) }
        var r = observer.report(config: config, now: now, nodes: nodes, network: counters,
                                events: eventCount, digest: traceDigest.hex, wallSeconds: wall)
        r.lanes = laneCount
        return r
    }

    /// For diagnosis: live observers that do not list every live node alive, with what they miss.
    public func stragglers(limit: Int = 5) -> [String] {
        var out: [String] = []
        let want = Int32(observer.liveCount - 1)
        for o in 0..<config.nodes where observer.live[o] && observer.aliveSeen[o] != want && out.count < limit {
            var missing: [String] = []
            for x in 0..<config.nodes where x != o && observer.live[x] && !observer.bit(o, x) && missing.count < 5 {
                let st = node(o)?.status(of: lanes[0].name(of: x)).map { "\($0)" } ?? "unknown"
                missing.append("n\(x)=\(st)")
            }
            out.append("n\(o) sees \(observer.aliveSeen[o])/\(want) missing \(missing)")
        }
        return out
    }

    func node(_ i: Int) -> Membership? { lanes[i % laneCount].node(i) }

    /// The current simulated time.
    public var time: Instant { now }

    /// How node `observer` sees node `subject` (nil: unknown, or the observer is down).
    public func status(of subject: Int, seenBy observer: Int) -> MemberStatus? {
        node(observer)?.status(of: lanes[0].name(of: subject))
    }

    /// Whether node `i` is running.
    public func isRunning(_ i: Int) -> Bool { node(i) != nil }

    /// The name node `i` runs (or last ran) under.
    public func currentName(of i: Int) -> String { lanes[0].name(of: i) }

    /// Node `i`'s membership state machine, if it runs (for tests that read its table).
    public func membership(of i: Int) -> Membership? { node(i) }

    /// The protocol counters of node `i`, if it runs.
    public func counters(of i: Int) -> MembershipCounters? { node(i)?.counters }

    func running() -> [SimNodeID] { (0..<config.nodes).filter { node($0) != nil }.map { SimNodeID($0) } }

    /// Applies `change` to every lane's copy of the network.
    mutating func everyNetwork(_ change: (inout Network<Wire>) -> Void) {
        for k in lanes.indices { change(&lanes[k].network) }
    }

    mutating func perform(_ action: ScenarioAction) {
        digest.mix(0x4143_54 as UInt64); digest.mix(now)
        for k in lanes.indices { lanes[k].now = max(lanes[k].now, now) }
        switch action {
        case let .crash(selection):
            for v in selection.resolve(among: running(), using: &rng).map(\.index) where v < config.nodes && node(v) != nil {
                lanes[v % laneCount].crash(v)
                everyNetwork { $0.crash(SimNodeID(v)) }
                observer.nodeDeparted(v, now: now, crashed: true)
            }
        case let .restart(selection):
            let down = (0..<config.nodes).filter { node($0) == nil && lanes[$0 % laneCount].started[$0 / laneCount] }.map { SimNodeID($0) }
            for v in selection.resolve(among: down, using: &rng).map(\.index) where v < config.nodes && node(v) == nil {
                // A restarted node is configured with the seeds and a few more; it uses the
                // first that runs.
                let candidates = config.seeds + Array(0..<min(3, config.nodes))
                let seedNode = candidates.first { node($0) != nil && $0 != v } ?? 0
                lanes[v % laneCount].restartCount[v / laneCount] &+= 1
                if config.restartAs != .sameName { for k in lanes.indices { lanes[k].lives[v] &+= 1 } }
                // Streams of the previous process (crashed, or exited after a leave) break.
                everyNetwork { $0.crash(SimNodeID(v)); $0.restart(SimNodeID(v)) }
                lanes[v % laneCount].start(v, seedNode: seedNode, rejoin: true)
            }
        case let .leave(selection):
            for v in selection.resolve(among: running(), using: &rng).map(\.index) where v < config.nodes && node(v) != nil {
                observer.nodeLeaving(v, now: now)
                lanes[v % laneCount].leave(v)
            }
        case let .partition(groups):
            everyNetwork { $0.partition.split(into: groups) }
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "partition", color: "#9467bd"))
        case let .cut(from, to):
            everyNetwork { $0.partition.cut(from: from, to: to) }
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "cut", color: "#9467bd"))
        case .heal:
            everyNetwork { $0.partition.heal() }
            observer.markers.append(TimelineMarker(seconds: now.seconds, category: "partition", label: "heal", color: "#17becf"))
        case let .slow(selection, extra, until):
            let chosen = selection.resolve(among: running(), using: &rng)
            for v in chosen where v.index < config.nodes { everyNetwork { $0.setExtraLatency(extra, for: v) } }
            if let until, extra > .zero {
                let end = Instant.zero + Interval(seconds: until)
                if end > now {
                    actions.append(.slow(.nodes(chosen), extraLatency: .zero, until: nil))
                    _ = queue.push(.action(index: Int32(actions.count - 1)), at: end)
                }
            }
        case let .loss(p):
            everyNetwork { $0.model.loss = p }
        }
    }
}

/// Lets the lanes of one window be handed to worker threads: each thread touches only the
/// lane at its own index, and the window ends before anyone else reads them.
private struct LaneBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<SimLane>
    init(_ buffer: UnsafeMutableBufferPointer<SimLane>) { self.buffer = buffer }
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
