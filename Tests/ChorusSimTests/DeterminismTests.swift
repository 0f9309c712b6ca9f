import ChorusBase
import Testing
@testable import ChorusSim

/// A tiny protocol run through the engine: every node pings a random peer every 100 ms (±20 ms)
/// and answers pings with acks, every fifth exchange over a reliable stream, on a lossy,
/// duplicating, reordering network with a partition, a heal, a crash and a restart.
private enum PingMessage {
    case ping(UInt32)
    case ack(UInt32)
}

private enum PingEvent: PacketEvent {
    case tick(SimNodeID)
    case split
    case heal
    case crash(SimNodeID)
    case restart(SimNodeID)
    case delivery(Packet<PingMessage>)
}

private struct PingRun {
    let nodes = 64
    var queue = EventQueue<PingEvent>()
    var network: Network<PingMessage>
    var rng: SeededRandom
    var digest = TraceDigest()
    var acks = 0

    init(seed: UInt64) {
        rng = SeededRandom(seed: seed)
        network = Network(nodeCount: nodes, model: NetworkModel(
            latency: LatencyModel.lognormal(median: .milliseconds(2), sigma: 0.6).adding(base: .microseconds(200)),
            loss: 0.05, duplication: 0.02, reorder: 0.1, reorderSpan: .milliseconds(30)))
        network.model.linkLatency[SimLink(from: SimNodeID(0), to: SimNodeID(1))] = .pareto(minimum: .milliseconds(5), shape: 1.5)
        for node in 0..<nodes { queue.push(.tick(SimNodeID(node)), at: Instant.zero + .milliseconds(Int64(rng.below(100)))) }
        queue.push(.split, at: Instant.zero + .seconds(3 as Int64))
        queue.push(.heal, at: Instant.zero + .seconds(5 as Int64))
        queue.push(.crash(SimNodeID(3)), at: Instant.zero + .seconds(6 as Int64))
        queue.push(.restart(SimNodeID(3)), at: Instant.zero + .seconds(8 as Int64))
    }

    mutating func run(until end: Instant) -> String {
        var sequence: UInt32 = 0
        while let next = queue.nextTime, next <= end {
            let event = queue.pop()!
            let now = event.time
            digest.mix(now)
            switch event.event {
            case .tick(let node):
                queue.push(.tick(node), at: now + .milliseconds(80 + Int64(rng.below(41))))
                guard network.isUp(node) else { continue }
                var peer = rng.below(nodes - 1)
                if peer >= node.index { peer += 1 }
                sequence &+= 1
                digest.mix(1); digest.mix(node); digest.mix(peer)
                network.transmit(from: node, to: SimNodeID(peer), message: .ping(sequence), bytes: 64,
                                 reliable: sequence % 5 == 0, at: now, rng: &rng, into: &queue)
            case .split:
                network.partition.split(into: [(0..<nodes / 2).map { SimNodeID($0) }])
                network.partition.cut(from: [SimNodeID(60)], to: [SimNodeID(61)])
                digest.mix("split")
            case .heal:
                network.partition.heal()
                digest.mix("heal")
            case .crash(let node):
                network.crash(node)
                digest.mix("crash"); digest.mix(node)
            case .restart(let node):
                network.restart(node)
                digest.mix("restart"); digest.mix(node)
            case .delivery(let packet):
                guard network.arrive(packet, at: now) else { digest.mix(2); continue }
                switch packet.message {
                case .ping(let number):
                    digest.mix(3); digest.mix(packet.to); digest.mix(UInt64(number))
                    network.transmit(from: packet.to, to: packet.from, message: .ack(number), bytes: 64,
                                     reliable: packet.reliable, at: now, rng: &rng, into: &queue)
                case .ack(let number):
                    acks += 1
                    digest.mix(4); digest.mix(packet.to); digest.mix(UInt64(number)); digest.mix(packet.isDuplicate)
                }
            }
        }
        let c = network.counters
        for value in [c.sentMessages, c.deliveredMessages, c.duplicated, c.reordered, c.totalDropped] { digest.mix(value) }
        for reason in DropReason.allCases { digest.mix(c.dropped(reason)) }
        return digest.hex
    }
}

@Suite struct DeterminismTests {
    @Test func sameSeed_sameDigest_differentSeed_differentDigest() {
        var first = PingRun(seed: 42), second = PingRun(seed: 42), other = PingRun(seed: 43)
        let end = Instant.zero + .seconds(10 as Int64)
        let a = first.run(until: end), b = second.run(until: end), c = other.run(until: end)
        #expect(a == b)
        #expect(a != c)
        #expect(first.acks > 4_000)
        #expect(first.network.counters.dropped(.partitionAtSend) > 0)
        #expect(first.network.counters.dropped(.loss) > 0)
        #expect(first.network.counters.duplicated > 0)
        // Pinned so a change in any process (hash seed, platform) or in the engine shows up.
        #expect(a == DeterminismTests.golden, "digest \(a)")
    }

    static let golden = "1fae50d0cb362fdcb66449c067ff0031"
}
