import struct ChorusSim.KVOperation
import ChorusBase
import Foundation
@testable import ChorusRaft

/// A deterministic discrete-event simulation of one Raft group: virtual time, a network
/// that loses, duplicates, delays and reorders messages and can be partitioned, nodes that
/// crash and restart with exactly what their driver persisted, a key-value state machine
/// with compaction, and (optionally) clients whose operations form a history for the
/// linearizability checker. Every run is a function of its seed; the invariant checker runs
/// after every step.
final class Simulation {
    enum ReadMode: String {
        /// Correct: ReadIndex at any node (followers forward to the leader).
        case readIndex
        /// Broken on purpose: a node answers from its own state machine at once.
        case localReads
        /// Broken on purpose: a node that believes it leads answers without confirming.
        case leaderLocalReads
    }

    struct Options: CustomStringConvertible {
        var voters = 3
        /// Extra nodes that membership changes may add (and remove again).
        var spares = 0
        var lossRate = 0.05
        var duplicateRate = 0.02
        /// Message delay is 0.2 ms plus up to this, so messages overtake each other.
        var maxDelayMicros: Int64 = 15_000
        var crashes = true
        var partitions = true
        var membershipChanges = false
        var transfers = true
        /// Snapshot and compact every this many applied entries.
        var compactEvery = 25
        /// Faults run this long, then the network heals and everyone restarts...
        var faultyMicros: Int64 = 2_500_000
        /// ...and the group must recover and commit within this long.
        var quietMicros: Int64 = 1_500_000
        /// Background proposals (0: none), one per this many microseconds on average.
        var proposalEveryMicros: Int64 = 8_000
        var clients = 0
        var keys = 3
        var reads = ReadMode.readIndex
        var settings = RaftSettings()

        /// Everything about a run drawn from its seed, so one number replays it.
        static func random(seed: UInt64) -> Options {
            var rng = SeededRandom(seed: seed ^ 0x5EED)
            var o = Options()
            o.voters = rng.below(2) == 0 ? 3 : 5
            o.spares = rng.below(3) == 0 ? 2 : 0
            o.membershipChanges = o.spares > 0
            o.lossRate = [0, 0.02, 0.1, 0.2][rng.below(4)]
            o.duplicateRate = [0, 0.05][rng.below(2)]
            o.maxDelayMicros = [2_000, 15_000, 40_000][rng.below(3)]
            o.compactEvery = [10, 25, 1_000][rng.below(3)]
            o.settings.preVote = rng.below(4) != 0
            o.settings.checkQuorum = rng.below(4) != 0
            // Without pre-vote, a node whose log is behind keeps raising its term and deposing
            // leaders (with check-quorum, through its answers to their heartbeats) until a
            // majority adopts its term: live, but it can take seconds (etcd documents this).
            o.quietMicros = o.settings.preVote ? 1_500_000 : 3_000_000
            // Tight caps make replication slow on purpose (more pipelining states), but not
            // slower than the background load, or the quiet phase could not catch up.
            o.settings.maxInflightMessages = [4, 256][rng.below(2)]
            o.settings.maxMessageBytes = [256, 1 << 20][rng.below(2)]
            return o
        }

        var description: String {
            "voters=\(voters) spares=\(spares) loss=\(lossRate) dup=\(duplicateRate) delay≤\(maxDelayMicros)µs "
                + "compactEvery=\(compactEvery) preVote=\(settings.preVote) checkQuorum=\(settings.checkQuorum) "
                + "inflight=\(settings.maxInflightMessages) msgBytes=\(settings.maxMessageBytes) clients=\(clients) reads=\(reads)"
        }
    }

    enum Event {
        case tick(Int, incarnation: Int)
        case deliver(Message)
        case persist(Int, incarnation: Int)
        case fault
        case restart(Int)
        case heal
        case propose
        case reconfigure
        case client(Int)
        case clientTimeout(Int, op: Int)
        case endOfFaults
        case finalProposal
    }

    struct SimNode {
        let id: NodeID
        var raft: RaftNode?
        var storage: MemoryStorage
        var store = KeyValueStore()
        var incarnation = 0
        var persistScheduled = false
        var group = 0
        /// Reads whose ReadState arrived, waiting for the applied index: (index, op).
        var readsWaiting: [(index: LogIndex, op: Int)] = []
    }

    let seed: UInt64
    let options: Options
    private(set) var rng: SeededRandom
    private(set) var now: Int64 = 0
    private var queue = EventQueue<Event>()
    private(set) var nodes: [SimNode] = []
    private(set) var checker = InvariantChecker()
    private(set) var failure: String?
    private(set) var steps = 0
    /// A digest of every event, to show that one seed replays one run.
    private(set) var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    private var faultsOver = false
    private var finalEntry: EntryID?
    var clients: [SimClient] = []
    var history: [KVOperation] = []
    private var nextOpID: UInt64 = 1
    /// Prints every delivery and every role or term change from this time on (debugging a
    /// replayed seed: `CHORUS_RAFT_TRACE=<µs>`).
    var traceFrom: Int64? = ProcessInfo.processInfo.environment["CHORUS_RAFT_TRACE"].flatMap(Int64.init)
    private var lastRole: [NodeID: String] = [:]

    init(seed: UInt64, options: Options) {
        self.seed = seed
        self.options = options
        self.rng = SeededRandom(seed: seed)
        let voters = (1...options.voters).map { NodeID(UInt64($0)) }
        let initial = Configuration(voters: voters)
        for i in 0..<(options.voters + options.spares) {
            let id = NodeID(UInt64(i + 1))
            let storage = MemoryStorage(configuration: i < options.voters ? initial : .empty)
            nodes.append(SimNode(id: id, raft: nil, storage: storage))
            start(i)
        }
        schedule(.fault, after: 50_000 + Int64(rng.below(100_000)))
        if options.proposalEveryMicros > 0 { schedule(.propose, after: options.proposalEveryMicros) }
        if options.membershipChanges { schedule(.reconfigure, after: 200_000) }
        for c in 0..<options.clients {
            clients.append(SimClient())
            schedule(.client(c), after: Int64(rng.below(20_000)))
        }
        schedule(.endOfFaults, after: options.faultyMicros)
    }

    var failureReport: String? {
        failure.map { "seed=\(seed) replay with CHORUS_RAFT_SEED=\(seed): \($0) at t=\(now)µs step \(steps) [\(options)]\n\(status)" }
    }

    /// Every node's state, and the leader's view of each member, for failure reports.
    var status: String {
        var lines: [String] = []
        for n in nodes {
            guard let r = n.raft else { lines.append("  \(n.id) down"); continue }
            var line = "  \(n.id) \(r.role) term \(r.term) leader \(r.leader.map(\.description) ?? "-") "
                + "log \(r.log.firstIndex)...\(r.log.lastIndex) commit \(r.log.committed) applied \(r.log.applied) \(r.configuration)"
            if r.role == .leader {
                for m in r.configuration.members {
                    if let p = r.progress(of: m) {
                        line += "\n    \(m) match \(p.match) next \(p.next) \(p.state) probeSent \(p.probeSent) active \(p.recentActive) inflight \(p.inflights.count)"
                    }
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: running

    /// Runs to the end (or the first violation). Returns the failure report, if any.
    @discardableResult
    func run() -> String? {
        let end = options.faultyMicros + options.quietMicros
        while failure == nil, let (time, event) = queue.pop() {
            if time > end { break }
            now = time
            steps += 1
            handle(event)
        }
        if failure == nil { finalChecks() }
        return failureReport
    }

    private func schedule(_ event: Event, after delay: Int64) {
        queue.schedule(event, at: now + max(0, delay))
    }

    private func fail(_ why: String) { if failure == nil { failure = why } }

    private func mix(_ values: UInt64...) {
        for v in values { digest = (digest ^ v) &* 0x100_0000_01b3 }
    }

    private func handle(_ event: Event) {
        switch event {
        case let .tick(i, incarnation):
            guard nodes[i].incarnation == incarnation, nodes[i].raft != nil else { return }
            mix(1, UInt64(i))
            nodes[i].raft!.tick()
            changed(i)
            schedule(.tick(i, incarnation: incarnation), after: 10_000)
        case let .deliver(m):
            let i = Int(m.to.value - 1)
            mix(2, m.from.value, m.to.value, m.term.value)
            guard nodes[i].raft != nil, nodes[i].group == nodes[Int(m.from.value - 1)].group else { return }
            if let t = traceFrom, now >= t { print("\(now) deliver \(m)") }
            nodes[i].raft!.step(m)
            changed(i)
        case let .persist(i, incarnation):
            guard nodes[i].incarnation == incarnation, nodes[i].raft != nil else { return }
            mix(3, UInt64(i))
            nodes[i].persistScheduled = false
            processReady(i)
            changed(i)
        case .fault:
            guard !faultsOver else { return }
            injectFault()
            schedule(.fault, after: 30_000 + Int64(rng.below(250_000)))
        case let .restart(i):
            guard nodes[i].raft == nil else { return }
            mix(4, UInt64(i))
            start(i)
        case .heal:
            for i in nodes.indices { nodes[i].group = 0 }
        case .propose:
            guard !faultsOver else { return } // the quiet phase lets the group catch up
            backgroundProposal()
            schedule(.propose, after: Int64(rng.below(Int(2 * options.proposalEveryMicros))))
        case .reconfigure:
            guard !faultsOver else { return }
            reconfigure()
            schedule(.reconfigure, after: 100_000 + Int64(rng.below(300_000)))
        case let .client(c):
            clientStep(c)
        case let .clientTimeout(c, op):
            clientTimedOut(c, op: op)
        case .endOfFaults:
            faultsOver = true
            let retired = removedServers
            for i in nodes.indices {
                nodes[i].group = 0
                if retired.contains(i) { crash(i) } else if nodes[i].raft == nil { start(i) }
            }
            schedule(.finalProposal, after: 300_000)
        case .finalProposal:
            finalProposal()
        }
    }

    // MARK: nodes

    private func start(_ i: Int) {
        nodes[i].incarnation += 1
        let seedForNode = seed &* 31 &+ UInt64(i) &* 1_000_003 &+ UInt64(nodes[i].incarnation)
        let raft: RaftNode
        do {
            raft = try RaftNode(id: nodes[i].id, settings: options.settings, seed: seedForNode, restoring: nodes[i].storage.persisted)
        } catch {
            fail("settings refused: \(error)")
            return
        }
        nodes[i].raft = raft
        nodes[i].store = KeyValueStore(snapshot: nodes[i].storage.snapshot)
        nodes[i].persistScheduled = false
        nodes[i].readsWaiting = []
        checker.restarted(nodes[i].id, raft)
        schedule(.tick(i, incarnation: nodes[i].incarnation), after: Int64(rng.below(10_000)))
    }

    private func crash(_ i: Int) {
        guard nodes[i].raft != nil else { return }
        nodes[i].raft = nil
        nodes[i].incarnation += 1
        for c in clients.indices { clientNodeCrashed(c, node: i) }
    }

    /// After any input: check every invariant on the node, and schedule its fsync.
    private func changed(_ i: Int) {
        guard let raft = nodes[i].raft else { return }
        if let t = traceFrom, now >= t {
            let role = "\(raft.role) t\(raft.term) vote \(raft.vote.map(\.description) ?? "-") leader \(raft.leader.map(\.description) ?? "-")"
            if lastRole[raft.id] != role { print("\(now) \(raft.id) \(role) last \(raft.log.lastID)") }
            lastRole[raft.id] = role
        }
        if let problem = checker.check(raft) { fail(problem); return }
        if steps % 256 == 0, let problem = InvariantChecker.logsMatch(nodes.compactMap(\.raft)) { fail(problem); return }
        if raft.hasReady && !nodes[i].persistScheduled {
            nodes[i].persistScheduled = true
            schedule(.persist(i, incarnation: nodes[i].incarnation), after: 200 + Int64(rng.below(1_800)))
        }
    }

    /// The driver's loop body, in the order `Ready` prescribes.
    private func processReady(_ i: Int) {
        guard var raft = nodes[i].raft, raft.hasReady else { return }
        let ready = raft.ready()
        for m in ready.earlyMessages { transmit(m) }
        nodes[i].storage.persist(ready)
        if let hs = ready.hardState, let problem = checker.persisted(hs, by: nodes[i].id) { fail(problem) }
        for m in ready.messages { transmit(m) }
        if let s = ready.snapshot {
            if let problem = checker.restored(s.metadata, by: nodes[i].id) { fail(problem) }
            nodes[i].store = KeyValueStore(snapshot: s)
        }
        for e in ready.committedEntries {
            if let problem = checker.applied(e, by: nodes[i].id, after: nodes[i].store.appliedIndex) { fail(problem) }
            nodes[i].store.apply(e)
            for c in clients.indices { clientSawApply(c, node: i, entry: e) }
        }
        for rs in ready.readStates { readStateArrived(node: i, rs) }
        raft.advance(ready)
        nodes[i].raft = raft
        serveWaitingReads(i)
        let applied = raft.log.applied
        if applied - raft.log.snapshotIndex >= options.compactEvery {
            do {
                let s = try nodes[i].raft!.compact(through: applied, data: nodes[i].store.image)
                nodes[i].storage.saveCompaction(s)
            } catch {
                fail("compaction at applied \(applied) refused: \(error)")
            }
        }
    }

    private func transmit(_ m: Message) {
        if rng.unit() < options.lossRate && !faultsOver { return }
        schedule(.deliver(m), after: 200 + Int64(rng.below(Int(options.maxDelayMicros))))
        if rng.unit() < options.duplicateRate {
            schedule(.deliver(m), after: 200 + Int64(rng.below(Int(options.maxDelayMicros))))
        }
    }

    // MARK: faults and background work

    private func injectFault() {
        switch rng.below(6) {
        case 0 where options.partitions:
            // A random split into two sides.
            for i in nodes.indices { nodes[i].group = rng.below(2) }
        case 1 where options.partitions:
            let lonely = rng.below(nodes.count)
            for i in nodes.indices { nodes[i].group = i == lonely ? 1 : 0 }
        case 2, 3:
            for i in nodes.indices { nodes[i].group = 0 }
        case 4 where options.crashes:
            let victim = rng.below(nodes.count)
            crash(victim)
            schedule(.restart(victim), after: 20_000 + Int64(rng.below(400_000)))
        default:
            if options.transfers, let l = leaderIndex, rng.below(3) == 0 {
                let voters = nodes[l].raft!.configuration.voters
                try? nodes[l].raft!.transferLeadership(to: voters[rng.below(voters.count)])
                changed(l)
            }
        }
    }

    /// Nodes outside the latest committed configuration, when neither pre-vote nor
    /// check-quorum protects the group from them: without those, a removed server that never
    /// learned of its removal disrupts every election with higher terms (dissertation
    /// §4.2.3), so the operator shuts it down — as one does with removed servers.
    var removedServers: [Int] {
        guard !(options.settings.preVote && options.settings.checkQuorum) else { return [] }
        var latest: (index: LogIndex, configuration: Configuration)?
        for n in nodes {
            guard let r = n.raft ?? (try? RaftNode(id: n.id, settings: options.settings, seed: 0, restoring: n.storage.persisted)) else { continue }
            let (c, at) = r.log.configuration(atOrBefore: r.log.committed)
            if latest == nil || at > latest!.index { latest = (at, c) }
        }
        guard let latest else { return [] }
        return nodes.indices.filter { !latest.configuration.contains(nodes[$0].id) }
    }

    var leaderIndex: Int? {
        // The highest-term live leader (several may believe they lead during partitions).
        var best: Int?
        for i in nodes.indices {
            guard let r = nodes[i].raft, r.role == .leader else { continue }
            if best == nil || r.term > nodes[best!].raft!.term { best = i }
        }
        return best
    }

    private func backgroundProposal() {
        guard let l = leaderIndex else { return }
        let opID = nextOpID
        nextOpID += 1
        let key = "k\(rng.below(options.keys))"
        let command = KeyValueCommand(key: key, value: "bg\(opID)", opID: opID)
        _ = try? nodes[l].raft!.propose(command.encoded)
        changed(l)
    }

    private func reconfigure() {
        guard let l = leaderIndex, var raft = nodes[l].raft else { return }
        let c = raft.configuration
        let outsiders = nodes.map(\.id).filter { !c.contains($0) }
        var change: ConfChange?
        if let learner = c.learners.first {
            change = rng.below(4) == 0 ? .remove(learner) : .promote(learner)
        } else if c.voters.count > options.voters, rng.below(2) == 0 {
            change = .remove(c.voters[rng.below(c.voters.count)])
        } else if let newcomer = outsiders.first {
            change = .addLearner(newcomer)
        } else if c.voters.count > 3 {
            change = .remove(c.voters[rng.below(c.voters.count)])
        }
        if let change { _ = try? raft.proposeConfChange(change) }
        nodes[l].raft = raft
        changed(l)
    }

    /// Liveness after healing: a leader emerges, and an entry it proposes is committed and
    /// applied by every voter. Proposed again under a newer leader if the first is lost.
    private func finalProposal() {
        guard !finalReached else { return }
        if let l = leaderIndex, let leaderTerm = nodes[l].raft?.term, (finalEntry?.term ?? .zero) < leaderTerm {
            let command = KeyValueCommand(key: "final", value: "\(now)", opID: 0)
            if let id = try? nodes[l].raft!.propose(command.encoded) {
                finalEntry = id
                changed(l)
            }
        }
        schedule(.finalProposal, after: 50_000)
    }

    /// The final entry is committed (as recorded) and every voter of the leader's
    /// configuration has applied it.
    private var finalReached: Bool {
        guard let f = finalEntry, f.index.value < UInt64(checker.committed.count),
              checker.committed[Int(f.index.value)]?.id == f,
              let l = leaderIndex, let leader = nodes[l].raft else { return false }
        return leader.configuration.voters.allSatisfy { v in
            (nodes[Int(v.value - 1)].raft?.log.applied ?? .zero) >= f.index
        }
    }

    private func finalChecks() {
        if let problem = InvariantChecker.logsMatch(nodes.compactMap(\.raft)) { fail(problem); return }
        guard finalReached else {
            let what = finalEntry.map { "final entry \($0)" } ?? "no leader accepted a final entry"
            fail("liveness: \(what) not committed and applied by every voter \(options.quietMicros)µs after healing")
            return
        }
    }

    func liveNode(_ i: Int) -> RaftNode? { nodes[i].raft }

    // MARK: clients (linearizability)

    private func clientStep(_ c: Int) {
        guard !faultsOver else { return }
        let op = history.count
        let key = "k\(rng.below(options.keys))"
        let isRead = rng.below(2) == 0
        let target = clients[c].leaderHint.flatMap { h in rng.below(4) == 0 ? nil : h } ?? rng.below(nodes.count)
        let opID = nextOpID
        nextOpID += 1
        history.append(KVOperation(client: c, key: key, kind: isRead ? .get : .put("c\(c)-\(opID)"), call: now))
        clients[c].pending = ClientOp(op: op, node: target, entry: nil, context: Array("\(opID)".utf8))
        schedule(.clientTimeout(c, op: op), after: 300_000)
        guard var raft = nodes[target].raft else { return finish(c, .failed) }
        if isRead {
            switch options.reads {
            case .readIndex:
                do { try raft.readIndex(context: clients[c].pending!.context) } catch { return finish(c, .failed) }
                nodes[target].raft = raft
                changed(target)
            case .localReads:
                finish(c, .ok(nodes[target].store[key]))
            case .leaderLocalReads:
                guard raft.role == .leader else { return finish(c, .failed) }
                finish(c, .ok(nodes[target].store[key]))
            }
        } else {
            let command = KeyValueCommand(key: key, value: "c\(c)-\(opID)", opID: opID)
            do {
                clients[c].pending!.entry = try raft.propose(command.encoded)
            } catch let RaftError.notLeader(leader) {
                clients[c].leaderHint = leader.map { Int($0.value - 1) }
                return finish(c, .failed)
            } catch {
                return finish(c, .failed)
            }
            nodes[target].raft = raft
            changed(target)
        }
    }

    private enum Outcome { case ok(String?), failed, unknown }

    /// Completes the client's pending operation and schedules its next one.
    private func finish(_ c: Int, _ outcome: Outcome) {
        guard let p = clients[c].pending else { return }
        clients[c].pending = nil
        switch outcome {
        case let .ok(value):
            if case .put = history[p.op].kind { clients[c].leaderHint = p.node }
            history[p.op].returned = now
            if case .get = history[p.op].kind { history[p.op].output = value }
        case .failed:
            history[p.op].discarded = true
        case .unknown:
            // A write may or may not have happened: it stays open forever (Porcupine).
            if case .get = history[p.op].kind { history[p.op].discarded = true } else { history[p.op].returned = .max }
        }
        schedule(.client(c), after: 1_000 + Int64(rng.below(20_000)))
    }

    private func clientTimedOut(_ c: Int, op: Int) {
        guard clients[c].pending?.op == op else { return }
        clients[c].leaderHint = nil
        finish(c, .unknown)
    }

    private func clientNodeCrashed(_ c: Int, node: Int) {
        guard let p = clients[c].pending, p.node == node else { return }
        finish(c, .unknown)
    }

    private func clientSawApply(_ c: Int, node: Int, entry: Entry) {
        guard let p = clients[c].pending, p.node == node, let want = p.entry, want.index == entry.index else { return }
        // The entry applied at our index is ours, or ours was overwritten and never commits.
        finish(c, entry.id == want ? .ok(nil) : .failed)
    }

    private func readStateArrived(node: Int, _ rs: ReadState) {
        for c in clients.indices {
            guard let p = clients[c].pending, p.node == node, p.context == rs.context else { continue }
            nodes[node].readsWaiting.append((rs.index, p.op))
        }
    }

    private func serveWaitingReads(_ i: Int) {
        let applied = nodes[i].store.appliedIndex
        let ready = nodes[i].readsWaiting.filter { $0.index <= applied }
        nodes[i].readsWaiting.removeAll { $0.index <= applied }
        for r in ready {
            for c in clients.indices where clients[c].pending?.op == r.op {
                finish(c, .ok(nodes[i].store[history[r.op].key]))
            }
        }
    }
}

struct SimClient {
    var pending: ClientOp?
    var leaderHint: Int?
}

struct ClientOp {
    var op: Int
    var node: Int
    var entry: EntryID?
    var context: [UInt8]
}
