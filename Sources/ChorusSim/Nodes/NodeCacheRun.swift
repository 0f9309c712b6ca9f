import ChorusBase
import ChorusMembership
import ChorusCache
import ChorusNode
import Foundation

/// A whole-node cache run: real `Node`s in a `NodeCluster`; clients that each run one
/// operation at a time — a read, a write of a value no one else writes, or a delete of a
/// small shared keyspace — on a random node; nodes that crash and restart from what they
/// persisted, get isolated, lose, duplicate and reorder frames. Then the faults stop, every
/// node comes back, and every node must read every key (liveness).
///
/// The checker (`NodeCacheHistory`) watches every node's copies after every event (single
/// writer / multiple readers) and checks every completed read against the writes of its key
/// (linearizable reads). Some operations increment one counter key instead: no two
/// acknowledged increments may answer the same value, and the counter read at the end must
/// count every acknowledged one and no more than were asked. A failing seed is replayed
/// exactly by `replayLine`.
public final class NodeCacheRun {
    public let settings: NodeCacheSettings
    let cluster: NodeCluster
    var history = NodeCacheHistory()
    var report = NodeCacheReport()
    var tickets: [ClientTicket: Operation] = [:]
    /// Per client: the operation it waits on (its ticket), so a timeout can abandon it.
    var waitingOn: [ClientTicket?]
    var written = 0
    var faultsOn = true
    var crashed: Int?
    let keyBytes: [[UInt8]]
    static let counterKey = Array("counter".utf8)
    /// The answers of acknowledged increments.
    var incrementResults: [Int64] = []

    struct Operation {
        enum Kind { case read, write([UInt8]?), increment }
        var client: Int
        var key: Int
        var kind: Kind
        var node: Int
        var start: Instant
    }

    static let clientTag: UInt64 = 1 << 32, timeoutTag: UInt64 = 2 << 32, faultTag: UInt64 = 3 << 32, healTag: UInt64 = 4 << 32
    /// How long a client waits for an answer before it gives the operation up (unknown).
    static let clientPatience: Interval = .seconds(12)

    public init(settings: NodeCacheSettings, node: NodeSettings? = nil) throws {
        try settings.validate()
        self.settings = settings
        var nodeSettings = node ?? NodeCacheRun.nodeSettings(shards: settings.shards)
        nodeSettings.placement.shardCount = settings.shards
        cluster = try NodeCluster(nodes: settings.nodes, settings: nodeSettings, seed: settings.seed,
                                  membership: NodeCacheRun.membershipSettings())
        keyBytes = (0..<settings.keys).map { Array("key-\($0)".utf8) }
        waitingOn = Array(repeating: nil, count: settings.clients)
        report.seed = settings.seed
    }

    /// SWIM settings for cache runs: `NodeCluster`'s, but a member is declared dead only after
    /// about 20 s of suspicion — longer than any crash or partition the run stages, so a
    /// restart is noticed by its new life (`Node.receiveCache`) and no death verdict reaches
    /// the directories. With `NodeCluster`'s verdicts (about 1 to 4 s), a member declared dead
    /// while cut off and alive again after the heal left reads stuck in the quiet phase (seeds
    /// 15, 38, 78, 79): how the directories treat a live member declared dead is open.
    public static func membershipSettings() -> MembershipSettings {
        var m = NodeCluster.membershipSettings()
        m.suspicionMultiplier = 100
        return m
    }

    /// Node settings for cache runs: `NodeCluster`'s, with a 500 ms copy lease, so leases
    /// run out (and new homes finish waiting) often within a short run.
    public static func nodeSettings(shards: Int) -> NodeSettings {
        var s = NodeCluster.settings(shards: shards)
        s.cache.lease = .milliseconds(500)
        return s
    }

    public func run() throws -> NodeCacheReport {
        guard cluster.settle() else { report.violations.append("the cluster did not settle"); return report }
        // Every new home first waits out the leases an earlier home could have granted.
        cluster.run(for: cluster.settings.cache.homeLeaseBound + cluster.settings.takeoverGrace + .milliseconds(200))
        cluster.faults.loss = settings.loss
        cluster.faults.duplication = settings.duplication
        cluster.faults.reorder = settings.reorder
        cluster.onReply = { [unowned self] ticket, node, reply in self.replied(ticket, node: node, reply) }
        cluster.onTimer = { [unowned self] tag in self.timer(tag) }
        cluster.afterEvent = { [unowned self] in self.checkCopies() }
        for c in 0..<settings.clients { cluster.after(.milliseconds(Int64(1 + c)), tag: Self.clientTag | UInt64(c)) }
        if settings.faultEverySeconds > 0 { cluster.after(seconds(settings.faultEverySeconds), tag: Self.faultTag) }
        cluster.run(for: seconds(settings.durationSeconds))
        // Quiet: no faults, every node back; clients finish what they wait on, then every
        // node reads every key.
        faultsOn = false
        cluster.faults = NodeCluster.Faults()
        cluster.heal()
        if let i = crashed { try cluster.restart(i); crashed = nil }
        // Operations still waiting are given up (a write's outcome stays unknown): a client of
        // a crashed node would wait for ever, and waiting costs simulated time.
        for c in waitingOn.indices { if let t = waitingOn[c] { abandon(c, low: t.value & 0xFFFF) } }
        try finalReads(until: cluster.now + seconds(settings.quietSeconds))
        checkCounter()
        if !report.violations.isEmpty {
            for slot in cluster.slots { report.violations.append("n\(slot.index): " + (slot.node?.cacheSummary(at: cluster.time(slot.index).now, keys: keyBytes) ?? "down")) }
        }
        history.checkReads()
        history.checkReadOrder()
        report.violations = history.violations + report.violations
        report.reads = history.readCount
        for slot in cluster.slots {
            guard let node = slot.node else { continue }
            report.hits &+= node.cacheStatistics.hits
            report.invalidations &+= node.cacheStatistics.invalidationsReceived
        }
        return report
    }

    /// Every node reads every key, one at a time, until it succeeds or the quiet phase ends.
    func finalReads(until end: Instant) throws {
        for node in cluster.slots.indices {
            for key in 0..<settings.keys {
                var done = false
                while !done && cluster.now < end {
                    let start = cluster.now
                    let t = cluster.submit(.cacheGet(key: keyBytes[key]), to: node)
                    cluster.run(until: min(end, cluster.now + .seconds(10))) { $0.replies[t] != nil }
                    if case let .cacheValue(_, value)? = cluster.replies[t]?.reply {
                        history.recordRead(key, value: value, start: start, end: cluster.now, node: node, client: -1)
                        done = true
                    } else {
                        cluster.run(for: .milliseconds(100))
                    }
                }
                if !done {
                    let last = cluster.replies.keys.max().flatMap { cluster.replies[$0] }.map { "\($0.reply)" } ?? "none"
                    report.violations.append("n\(node) could not read key-\(key) in the quiet phase (last answer: \(last))")
                }
            }
        }
    }

    /// Increments are atomic: distinct answers, and the final value counts every acknowledged
    /// increment and at most the unknown ones besides.
    func checkCounter() {
        report.increments = incrementResults.count
        if Set(incrementResults).count != incrementResults.count {
            report.violations.append("two increments answered the same value: \(incrementResults.sorted())")
        }
        let t = cluster.submit(.cacheGet(key: Self.counterKey), to: 0)
        cluster.run(until: cluster.now + .seconds(10)) { $0.replies[t] != nil }
        let final: Int64
        switch cluster.replies[t]?.reply {
        case .cacheValue(_, nil)?: final = 0
        case let .cacheValue(_, value?)?:
            guard let n = Int64(String(decoding: value, as: UTF8.self)) else {
                return report.violations.append("the counter holds \(value), not an integer")
            }
            final = n
        case let other:
            return report.violations.append("the counter could not be read in the quiet phase: \(String(describing: other))")
        }
        let acked = Int64(incrementResults.count), unknown = Int64(report.unknownIncrements)
        if final < acked || final > acked + unknown || incrementResults.contains(where: { $0 > final }) {
            report.violations.append("counter \(final) after \(acked) acknowledged and \(unknown) unknown increments "
                                     + "(answers \(incrementResults.sorted()))")
        }
    }

    func seconds(_ s: Double) -> Interval { .milliseconds(Int64(s * 1_000)) }

    /// Single writer / multiple readers, on every node's own clock, after every event.
    /// With `CTRACE=k` in the environment, every change of key k's lines and directory entries
    /// on any node is printed with the simulated time (to read a failing seed's story).
    var traceLast: [String] = []
    /// The key `CTRACE` names, read once (the environment is costly to read at every event).
    lazy var tracedKey: Int? = ProcessInfo.processInfo.environment["CTRACE"].map { Int($0) ?? 0 }
    func traceLines(_ key: Int) {
        var now: [String] = []
        for slot in cluster.slots {
            now.append(slot.node?.cacheSummary(at: cluster.time(slot.index).now, keys: [keyBytes[min(max(key, 0), keyBytes.count - 1)]]) ?? "down")
        }
        if now != traceLast { print("\(cluster.now) " + now.enumerated().map { "n\($0.offset): \($0.element)" }.joined(separator: " | ")); traceLast = now }
    }

    /// The controllers' step counts at the last check, per node (and its generation).
    var checkedSteps: [UInt64] = []

    func checkCopies() {
        if let key = tracedKey { traceLines(key) }
        // Only a controller's operation or message can give a node a copy or ownership; a
        // tick or a lease running out only takes them away.
        let steps = cluster.slots.map { slot in slot.node.map { $0.cacheControllerSteps &+ UInt64(cluster.slotGeneration(slot.index)) << 48 } ?? 0 }
        guard steps != checkedSteps else { return }
        checkedSteps = steps
        for key in 0..<settings.keys {
            var copies: [(node: Int, state: LineState)] = []
            for slot in cluster.slots {
                guard let node = slot.node else { continue }
                let now = cluster.time(slot.index).now
                let line = node.cacheLine(of: keyBytes[key], at: now)
                if line.readable { copies.append((slot.index, line.state)) }
                if let mirrored = slot.localCopies.value(of: CacheKey(keyBytes[key]), at: now),
                   node.localCacheValue(of: keyBytes[key], at: now).map({ $0 != mirrored }) ?? true {
                    history.note("k\(key): n\(slot.index)'s mirror holds \(history.text(mirrored)) at \(cluster.now), which its controller cannot read")
                }
            }
            history.checkSingleWriter(key, copies, at: cluster.now)
        }
    }

    // MARK: clients

    func nextOperation(_ c: Int) {
        guard faultsOn else { return }
        let key = Int(cluster.random() % UInt64(settings.keys))
        let node = Int(cluster.random() % UInt64(settings.nodes))
        let kind: Operation.Kind
        let request: ClientRequest
        if cluster.unit() < settings.incrementRatio {
            kind = .increment
            request = .cacheIncrement(key: Self.counterKey, by: 1)
        } else if cluster.unit() < settings.writeRatio {
            if cluster.unit() < settings.deleteRatio {
                kind = .write(nil)
                request = .cacheDelete(key: keyBytes[key])
            } else {
                written += 1
                let value = Array("c\(c)-\(written)".utf8)
                kind = .write(value)
                request = .cachePut(key: keyBytes[key], value: value)
            }
            report.writes += 1
        } else {
            if cluster.unit() < settings.embeddedReadRatio, cluster.slots[node].isRunning,
               let value = cluster.slots[node].localCopies.value(of: CacheKey(keyBytes[key]), at: cluster.time(node).now) {
                // The embedding's read: a function call on the node's mirror, at one instant.
                history.recordRead(key, value: value, start: cluster.now, end: cluster.now, node: node, client: c)
                report.embeddedHits += 1
                cluster.after(.milliseconds(Int64(2 + cluster.random() % 20)), tag: Self.clientTag | UInt64(c))
                return
            }
            kind = .read
            request = .cacheGet(key: keyBytes[key])
        }
        let t = cluster.reserveTicket()
        tickets[t] = Operation(client: c, key: key, kind: kind, node: node, start: cluster.now)
        waitingOn[c] = t
        cluster.submit(request, to: node, ticket: t)
        cluster.after(Self.clientPatience, tag: Self.timeoutTag | UInt64(c) << 16 | (t.value & 0xFFFF))
    }

    func replied(_ ticket: ClientTicket, node: Int, _ reply: ClientReply) {
        guard let op = tickets.removeValue(forKey: ticket) else { return }
        guard waitingOn[op.client] == ticket else { return }
        waitingOn[op.client] = nil
        switch (op.kind, reply) {
        case let (.read, .cacheValue(_, value)):
            history.recordRead(op.key, value: value, start: op.start, end: cluster.now, node: op.node, client: op.client)
        case let (.write(value), .cacheWritten):
            history.recordWrite(op.key, value: value, start: op.start, end: cluster.now, client: op.client)
        case let (.write(value), _):
            report.failed += 1
            if report.failures.count < 10 { report.failures.append("\(reply)") }
            history.recordWrite(op.key, value: value, start: op.start, end: nil, client: op.client)
        case (.read, _):
            report.failed += 1
            if report.failures.count < 10 { report.failures.append("\(reply)") }
        case let (.increment, .cacheInteger(_, n)):
            incrementResults.append(n)
        case (.increment, _):
            report.failed += 1
            report.unknownIncrements += 1
        }
        cluster.after(.milliseconds(Int64(2 + cluster.random() % 20)), tag: Self.clientTag | UInt64(op.client))
    }

    /// A client gives up the operation it waits on: a write's outcome stays unknown.
    func abandon(_ c: Int, low: UInt64) {
        guard let t = waitingOn[c], t.value & 0xFFFF == low, let op = tickets.removeValue(forKey: t) else { return }
        waitingOn[c] = nil
        report.failed += 1
        switch op.kind {
        case let .write(value): history.recordWrite(op.key, value: value, start: op.start, end: nil, client: c)
        case .increment: report.unknownIncrements += 1
        case .read: break
        }
        cluster.after(.milliseconds(5), tag: Self.clientTag | UInt64(c))
    }

    func timer(_ tag: UInt64) {
        let kind = tag & ~UInt64(0xFFFF_FFFF), low = tag & 0xFFFF_FFFF
        switch kind {
        case Self.clientTag:
            nextOperation(Int(low))
        case Self.timeoutTag:
            abandon(Int(low >> 16), low: low & 0xFFFF)
        case Self.faultTag:
            guard faultsOn else { return }
            if crashed == nil && cluster.random() % 2 == 0 {
                let victim = Int(cluster.random() % UInt64(settings.nodes))
                cluster.crash(victim)
                crashed = victim
                report.crashes += 1
            } else {
                cluster.isolate(Int(cluster.random() % UInt64(settings.nodes)))
                report.partitions += 1
            }
            cluster.after(seconds(settings.faultEverySeconds / 2), tag: Self.healTag)
            cluster.after(seconds(settings.faultEverySeconds), tag: Self.faultTag)
        case Self.healTag:
            cluster.heal()
            if let i = crashed {
                do { try cluster.restart(i) } catch { report.violations.append("restart of n\(i) failed: \(error)") }
                crashed = nil
            }
        default:
            break
        }
    }
}
