import ChorusBase
@testable import ChorusMembership

/// A tiny in-process network for protocol tests (etcd-raft style): nodes exchange packets
/// with a fixed latency; links can be cut and nodes crashed. Packets go through the real
/// codec so the tests also exercise the wire format.
struct TestNetwork {
    struct InFlight { var at: Instant; var seq: Int; var from: Endpoint; var to: Endpoint; var bytes: [UInt8]; var stream: Bool }
    var nodes: [Endpoint: Membership] = [:]
    var order: [Endpoint] = []
    var now = Instant.zero
    var latency = Interval.milliseconds(1)
    var queue: [InFlight] = []
    var seq = 0
    var cut: Set<[Endpoint]> = []
    /// Links on which datagrams are lost but streams still work (a lossy UDP path).
    var datagramCut: Set<[Endpoint]> = []
    var crashed: Set<Endpoint> = []
    var events: [(Endpoint, MemberEvent)] = []
    var settings: MembershipSettings

    init(settings: MembershipSettings = MembershipSettings()) { self.settings = settings }

    static func address(_ i: Int) -> Endpoint { Endpoint(ip: IPAddress(ipv4: 0x0A00_0000 | UInt32(i)), port: 7946) }

    mutating func add(_ i: Int, seeds: [Int] = [], tags: Tags = Tags(), incarnation: Incarnation = 0) {
        start("n\(i)", at: Self.address(i), seeds: seeds, tags: tags, incarnation: incarnation, seed: UInt64(i) &* 7919 &+ UInt64(seq))
    }

    /// Starts a node called `name` at `a` (a restart when the name ran elsewhere before).
    mutating func start(_ name: String, at a: Endpoint, seeds: [Int], tags: Tags = Tags(), incarnation: Incarnation = 0, seed: UInt64) {
        var m = try! Membership(name: name, address: a, tags: tags, incarnation: incarnation, settings: settings, seed: seed, now: now)
        if nodes[a] == nil { order.append(a) }
        crashed.remove(a)
        var out: [MembershipEffect] = []
        m.join(seeds: seeds.map(Self.address), at: now, into: &out)
        nodes[a] = m
        perform(from: a, out)
    }

    mutating func perform(from: Endpoint, _ effects: [MembershipEffect]) {
        for e in effects {
            switch e {
            case let .send(p, to, via):
                seq += 1
                queue.append(InFlight(at: now + latency, seq: seq, from: from, to: to, bytes: PacketCodec.encode(p), stream: via == .stream))
            case let .event(ev):
                events.append((from, ev))
            }
        }
    }

    /// Runs until `end`, delivering packets and ticking nodes in a deterministic order.
    mutating func run(until end: Instant) {
        while true {
            var next = end
            for a in order where !crashed.contains(a) { next = min(next, nodes[a]!.nextDeadline) }
            if let q = queue.min(by: { ($0.at, $0.seq) < ($1.at, $1.seq) }) { next = min(next, q.at) }
            if next >= end { now = end; return }
            now = next
            while let i = queue.indices.filter({ queue[$0].at <= now }).min(by: { queue[$0].seq < queue[$1].seq }) {
                let p = queue.remove(at: i)
                guard !crashed.contains(p.to), !cut.contains([p.from, p.to]), var m = nodes[p.to] else { continue }
                if !p.stream && datagramCut.contains([p.from, p.to]) { continue }
                var out: [MembershipEffect] = []
                let packet = try! PacketCodec.decode(p.bytes)
                m.receive(packet, from: p.from, via: p.stream ? .stream : .datagram, at: now, into: &out)
                nodes[p.to] = m
                perform(from: p.to, out)
            }
            for a in order where !crashed.contains(a) {
                guard var m = nodes[a], m.nextDeadline <= now else { continue }
                var out: [MembershipEffect] = []
                m.tick(at: now, into: &out)
                nodes[a] = m
                perform(from: a, out)
            }
        }
    }

    mutating func run(for d: Interval) { run(until: now + d) }

    func status(of i: Int, seenBy j: Int) -> MemberStatus? { nodes[Self.address(j)]?.status(of: "n\(i)") }
    func member(_ i: Int, seenBy j: Int) -> Membership.MemberInfo? { nodes[Self.address(j)]?.member(named: "n\(i)", at: now) }

    /// Every live node lists `expected` live members, all alive.
    func converged(alive expected: Int) -> Bool {
        order.filter { !crashed.contains($0) && !(nodes[$0]!.isLeaving) }.allSatisfy {
            nodes[$0]!.count(of: .alive) == expected && nodes[$0]!.count(of: .suspect) == 0
        }
    }

    mutating func partition(_ a: [Int], _ b: [Int]) {
        for i in a { for j in b { cut.insert([Self.address(i), Self.address(j)]); cut.insert([Self.address(j), Self.address(i)]) } }
    }
}
