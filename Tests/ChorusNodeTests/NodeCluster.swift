import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import ChorusStorage
import ChorusLocks

/// A deterministic cluster of whole `Node`s for scenario tests: each node runs the real
/// `Node` over the real `ShardHost` and `ShardStore` on a `MemoryFileSystem` that loses
/// unsynced writes on a crash; frames cross a simulated network (fixed 1 ms delay, cuts per
/// direction); the membership view is the set of running nodes. The same driver order as the
/// runtime: after every input, drive the host (persist, fsync, send, advance), hand the
/// replies to the node, carry out its effects.
final class NodeCluster {
    final class Slot {
        let index: Int
        let name: String
        let address: Endpoint
        let fileSystem = MemoryFileSystem()
        var store: ShardStore?
        var node: Node?
        var generation = 0
        /// A paused node neither ticks nor receives (a stop-the-world pause).
        var paused = false
        init(_ index: Int) {
            self.index = index
            name = "n\(index)"
            address = Endpoint(ip: IPAddress(ipv4: 0x7F00_0100 | UInt32(index + 1)), port: 7946)
        }
    }

    enum Event {
        case tick(Int, generation: Int)
        case deliver(from: Int, to: Int, frame: [UInt8], generation: Int)
    }

    let settings: NodeSettings
    var now = Instant.zero
    var queue = EventQueue<Event>()
    var slots: [Slot] = []
    var rng: SeededRandom
    /// Directions cut: (from, to).
    var cut: Set<[Int]> = []
    var replies: [ClientTicket: (node: Int, at: Instant, reply: ClientReply)] = [:]
    var nextTicket: UInt64 = 1
    var wallOffset: [Int: UInt64] = [:]

    init(nodes: Int, settings: NodeSettings, seed: UInt64) throws {
        self.settings = settings
        rng = SeededRandom(seed: seed)
        for i in 0..<nodes { slots.append(Slot(i)) }
        for i in 0..<nodes { try start(i, founder: i == 0) }
        refreshViews()
    }

    static func settings(shards: Int = 4) -> NodeSettings {
        var s = NodeSettings()
        s.placement.shardCount = shards
        s.placement.replicationFactor = 3
        s.placement.virtualNodesPerMember = 16
        return s
    }

    func start(_ i: Int, founder: Bool) throws {
        let slot = slots[i]
        let store = try ShardStore(directory: "/data", fileSystem: slot.fileSystem)
        var host = try ShardHost<ShardState>(id: NodeID(UInt64(i + 1)), settings: settings.shards, seed: rng.next(),
                                             epoch: try store.loadEpoch(), restoring: try store.loadGroups())
        if founder && host.epoch == nil {
            try host.bootstrap(shards: (0..<settings.placement.shardCount).map { ShardID($0) }, epoch: 0xC0FFEE)
        }
        slot.store = store
        slot.node = try Node(name: slot.name, host: host, settings: settings, seed: rng.next())
        slot.generation += 1
        slot.paused = false
        queue.push(.tick(i, generation: slot.generation), at: now + settings.tick)
    }

    /// Crashes node `i`: what it did not fsync is lost, and so is all its soft state.
    func crash(_ i: Int) {
        slots[i].fileSystem.crash()
        slots[i].store?.close()
        slots[i].store = nil
        slots[i].node = nil
        slots[i].generation += 1
        refreshViews()
    }

    func restart(_ i: Int) throws {
        try start(i, founder: false)
        refreshViews()
    }

    func isolate(_ i: Int) {
        for j in slots.indices where j != i { cut.insert([i, j]); cut.insert([j, i]) }
    }

    func heal() { cut = [] }

    func time(_ i: Int) -> NodeTime {
        NodeTime(now: now, wallMillis: 1_700_000_000_000 &+ UInt64(max(0, now.nanoseconds / 1_000_000)) &+ (wallOffset[i] ?? 0))
    }

    // MARK: views

    /// Every running node sees every running node alive (a perfect membership stand-in).
    func refreshViews() {
        var members: [Membership.MemberInfo] = []
        for s in slots {
            guard let node = s.node else {
                members.append(Membership.MemberInfo(name: s.name, address: s.address, status: .dead, tags: Tags()))
                continue
            }
            let tags = (try? Tags().applying(node.shardTags(api: s.address))) ?? Tags()
            members.append(Membership.MemberInfo(name: s.name, address: s.address, status: .alive, tags: tags))
        }
        for s in slots {
            guard let node = s.node else { continue }
            var effects: [NodeEffect] = []
            node.updateView(members.map { m in var m = m; m.isLocal = m.name == s.name; return m }, at: time(s.index), into: &effects)
            carry(effects, from: s.index)
        }
    }

    // MARK: running

    func run(for interval: Interval) { run(until: now + interval) }

    func run(until end: Instant, stop: (NodeCluster) -> Bool = { _ in false }) {
        var ticks = 0
        while let next = queue.peek(), next.time <= end {
            guard let e = queue.pop() else { break }
            now = e.time
            switch e.event {
            case let .tick(i, generation):
                let s = slots[i]
                guard let node = s.node, s.generation == generation else { continue }
                queue.push(.tick(i, generation: generation), at: now + settings.tick)
                guard !s.paused else { continue }
                var effects: [NodeEffect] = []
                node.tick(at: time(i), into: &effects)
                carry(effects, from: i)
                ticks += 1
                if ticks % (10 * slots.count) == 0 { refreshViews() }
            case let .deliver(from, to, frame, generation):
                let s = slots[to]
                guard let node = s.node, s.generation == generation, !s.paused else { continue }
                _ = from
                var effects: [NodeEffect] = []
                node.receive(frame: frame, from: slots[from].address, at: time(to), into: &effects)
                carry(effects, from: to)
            }
            if stop(self) { return }
        }
        now = max(now, end)
    }

    /// Drives node `i`'s host and carries out the node's effects, as the runtime does.
    func carry(_ effects: [NodeEffect], from i: Int) {
        var pending = effects
        while true {
            for effect in pending {
                switch effect {
                case let .reply(ticket, reply): replies[ticket] = (i, now, reply)
                case let .send(to, frame): send(frame, from: i, to: to)
                case .log: break
                }
            }
            pending = []
            guard let node = slots[i].node, let store = slots[i].store, node.host.hasReady else { return }
            do {
                let r = try store.drive(&node.host) { batches in
                    for b in batches {
                        guard let address = node.address(of: b.to) else { continue }
                        send(ShardBatchCodec.encode(b), from: i, to: address)
                    }
                }
                node.shardsAdvanced(r, at: time(i), into: &pending)
            } catch {
                preconditionFailure("storage failed in the simulation: \(error)")
            }
        }
    }

    func send(_ frame: [UInt8], from i: Int, to address: Endpoint) {
        guard let j = slots.firstIndex(where: { $0.address == address }), !cut.contains([i, j]) else { return }
        queue.push(.deliver(from: i, to: j, frame: frame, generation: slots[j].generation), at: now + .milliseconds(1))
    }

    // MARK: clients

    /// Hands `request` to node `i`; the reply lands in `replies` under the ticket.
    @discardableResult
    func submit(_ request: ClientRequest, to i: Int) -> ClientTicket {
        let ticket = ClientTicket(nextTicket)
        nextTicket += 1
        guard let node = slots[i].node else { return ticket }
        var effects: [NodeEffect] = []
        node.handle(request, ticket: ticket, at: time(i), into: &effects)
        carry(effects, from: i)
        return ticket
    }

    /// Submits and runs until answered (or `timeout`).
    func ask(_ request: ClientRequest, at i: Int, timeout: Interval = .seconds(10)) -> ClientReply? {
        let t = submit(request, to: i)
        run(until: now + timeout) { $0.replies[t] != nil }
        return replies[t]?.reply
    }

    func leader(of shard: ShardID) -> Int? {
        slots.indices.first { slots[$0].node?.host.isLeader(of: shard) == true && !slots[$0].paused }
    }

    /// Runs until every shard has a leader and three voters.
    func settle(timeout: Interval = .seconds(30)) -> Bool {
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

extension NodeCluster {
    /// Crashes node `i` and loses the frames it sent that are still on the wire (a crash
    /// right after a send: the network may drop them).
    func crashLosingInFlight(_ i: Int) {
        var kept: [(Instant, Event)] = []
        while let e = queue.pop() {
            if case let .deliver(from, _, _, _) = e.event, from == i { continue }
            kept.append((e.time, e.event))
        }
        for (t, e) in kept { queue.push(e, at: t) }
        crash(i)
    }

    func table(_ i: Int, _ shard: ShardID) -> LockTable? { slots[i].node?.host.machine(of: shard)?.locks }
}
