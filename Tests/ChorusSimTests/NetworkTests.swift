import ChorusBase
import Testing
@testable import ChorusSim

private enum WireEvent: PacketEvent {
    case delivery(Packet<Int>)
}

/// A network of `nodes` and the queue its deliveries land in, driven the way a driver would.
private struct Bench {
    var network: Network<Int>
    var queue = EventQueue<WireEvent>()
    var rng = SeededRandom(seed: 21)

    init(nodes: Int, model: NetworkModel) { network = Network(nodeCount: nodes, model: model) }

    mutating func send(_ from: Int, _ to: Int, _ message: Int, bytes: Int = 100, reliable: Bool = false, at seconds: Double = 0) {
        network.transmit(from: SimNodeID(from), to: SimNodeID(to), message: message, bytes: bytes, reliable: reliable,
                         at: Instant.zero + Interval(seconds: seconds), rng: &rng, into: &queue)
    }

    /// Pops every event up to `seconds` (all if nil) and returns what arrived, with arrival times.
    mutating func deliver(until seconds: Double? = nil) -> [(message: Int, at: Instant)] {
        var arrived: [(Int, Instant)] = []
        while let next = queue.nextTime, seconds.map({ next <= Instant.zero + Interval(seconds: $0) }) ?? true {
            let event = queue.pop()!
            switch event.event {
            case .delivery(let packet):
                if network.arrive(packet, at: event.time) { arrived.append((packet.message, event.time)) }
            }
        }
        return arrived
    }
}

@Suite struct NetworkTests {
    @Test func datagram_arrivesAfterTheLinkLatency_plusSlowNodeDelays() {
        var bench = Bench(nodes: 3, model: NetworkModel(latency: .constant(.milliseconds(5))))
        bench.network.setExtraLatency(.milliseconds(100), for: SimNodeID(2))
        bench.send(0, 1, 7)
        bench.send(2, 0, 8)
        bench.send(1, 2, 9)
        let arrived = bench.deliver()
        #expect(arrived.map(\.message) == [7, 8, 9])
        #expect(arrived.map(\.at.nanoseconds) == [5_000_000, 105_000_000, 105_000_000])
        #expect(bench.network.extraLatency(of: SimNodeID(2)) == .milliseconds(100))
        let counters = bench.network.counters
        #expect(counters.sentMessages == 3 && counters.deliveredMessages == 3 && counters.sentBytes == 300 && counters.deliveredBytes == 300)
    }

    @Test func loss_dropsAboutTheConfiguredFraction() {
        var bench = Bench(nodes: 2, model: NetworkModel(loss: 0.2))
        for i in 0..<10_000 { bench.send(0, 1, i) }
        let arrived = bench.deliver().count
        #expect(abs(Double(arrived) / 10_000 - 0.8) < 0.02)
        #expect(bench.network.counters.dropped(.loss) == 10_000 - arrived)
        #expect(bench.network.counters.droppedBytes(.loss) == (10_000 - arrived) * 100)
    }

    @Test func duplication_deliversSomePacketsTwice() {
        var bench = Bench(nodes: 2, model: NetworkModel(duplication: 0.1))
        for i in 0..<10_000 { bench.send(0, 1, i) }
        let arrived = bench.deliver().count
        #expect(arrived == 10_000 + bench.network.counters.duplicated)
        #expect(abs(Double(bench.network.counters.duplicated) / 10_000 - 0.1) < 0.02)
    }

    @Test func reordering_letsLaterPacketsOvertake() {
        var bench = Bench(nodes: 2, model: NetworkModel(latency: .constant(.milliseconds(1)), reorder: 0.3, reorderSpan: .milliseconds(50)))
        for i in 0..<1_000 { bench.send(0, 1, i, at: Double(i) * 0.001) }
        let order = bench.deliver().map(\.message)
        #expect(order.count == 1_000)
        #expect(order != Array(0..<1_000))
        #expect(bench.network.counters.reordered > 200)
    }

    @Test func reliable_isNeverLostDuplicatedOrReordered() {
        var bench = Bench(nodes: 2, model: NetworkModel(latency: .uniform(low: .milliseconds(1), high: .milliseconds(50)),
                                                      loss: 0.5, duplication: 0.5, reorder: 0.5))
        for i in 0..<2_000 { bench.send(0, 1, i, reliable: true, at: Double(i) * 0.0001) }
        let arrived = bench.deliver()
        #expect(arrived.map(\.message) == Array(0..<2_000))
        #expect(zip(arrived, arrived.dropFirst()).allSatisfy { $0.at <= $1.at })
        #expect(bench.network.counters.totalDropped == 0)
    }

    @Test func partition_dropsAtSend_andInFlight_andHealRestores() {
        var bench = Bench(nodes: 3, model: NetworkModel(latency: .constant(.milliseconds(10))))
        bench.network.partition.split(into: [[SimNodeID(0)], [SimNodeID(1), SimNodeID(2)]])
        bench.send(0, 1, 1)
        #expect(bench.network.counters.dropped(.partitionAtSend) == 1)
        bench.network.partition.heal()
        bench.send(0, 1, 2)
        bench.send(1, 0, 3, reliable: true)
        bench.network.partition.cut(from: [SimNodeID(1)], to: [SimNodeID(0)])  // forms while 3 flies
        #expect(bench.deliver().map(\.message) == [2])
        #expect(bench.network.counters.dropped(.partitionInFlight) == 1)
    }

    @Test func crash_dropsArrivals_andBreaksStreams_butNotDatagrams() {
        var bench = Bench(nodes: 2, model: NetworkModel(latency: .constant(.milliseconds(10))))
        bench.send(0, 1, 1)                  // datagram, arrives after a restart: delivered
        bench.send(0, 1, 2, reliable: true)  // stream packet: the crash breaks it
        bench.network.crash(SimNodeID(1))
        #expect(!bench.network.isUp(SimNodeID(1)))
        bench.network.restart(SimNodeID(1))
        bench.send(0, 1, 3, reliable: true)  // new stream after restart: delivered
        #expect(bench.deliver().map(\.message) == [1, 3])
        #expect(bench.network.counters.dropped(.streamBroken) == 1)

        bench.network.crash(SimNodeID(1))
        bench.send(0, 1, 4)
        bench.send(1, 0, 5)
        #expect(bench.deliver().isEmpty)
        #expect(bench.network.counters.dropped(.destinationDown) == 1)
        #expect(bench.network.counters.dropped(.sourceDown) == 1)
    }

    /// A graceful exit closes streams cleanly: what the node sent still arrives; what is
    /// sent to it is dropped; a restart then breaks the old streams.
    @Test func exit_deliversWhatWasSent_dropsWhatArrives() {
        var bench = Bench(nodes: 2, model: NetworkModel(latency: .constant(.milliseconds(10))))
        bench.send(1, 0, 1, reliable: true)  // sent by the leaver before it exits
        bench.send(0, 1, 2, reliable: true)  // sent to it: nobody is there to read it
        bench.network.exit(SimNodeID(1))
        #expect(!bench.network.isUp(SimNodeID(1)))
        #expect(bench.deliver().map(\.message) == [1])
        #expect(bench.network.counters.dropped(.destinationDown) == 1)

        bench.send(0, 1, 3, reliable: true)  // in flight when the node comes back
        bench.network.crash(SimNodeID(1)); bench.network.restart(SimNodeID(1))
        #expect(bench.deliver().isEmpty)
        #expect(bench.network.counters.dropped(.streamBroken) == 1)
    }

    @Test func counters_accountForEveryPacket() {
        var model = NetworkModel(latency: .lognormal(median: .milliseconds(5), sigma: 1), loss: 0.1, duplication: 0.1, reorder: 0.1)
        model.linkLatency[SimLink(from: SimNodeID(0), to: SimNodeID(1))] = .constant(.milliseconds(300))
        var bench = Bench(nodes: 8, model: model)
        var rng = SeededRandom(seed: 4)
        for i in 0..<5_000 {
            let seconds = Double(i) * 0.001
            _ = bench.deliver(until: seconds)
            if i == 1_000 { bench.network.partition.isolate([SimNodeID(3)]) }
            if i == 2_000 { bench.network.crash(SimNodeID(5)) }
            if i == 3_000 { bench.network.partition.heal() }
            bench.send(rng.below(8), rng.below(8), i, reliable: i % 7 == 0, at: seconds)
            let c = bench.network.counters
            #expect(c.sentMessages + c.duplicated == c.deliveredMessages + c.totalDropped + bench.network.inFlight)
        }
        _ = bench.deliver()
        #expect(bench.network.inFlight == 0)
    }

    @Test func streamTails_arePrunedWithoutChangingOrder() {
        var bench = Bench(nodes: 2_000, model: NetworkModel(latency: .uniform(low: .milliseconds(1), high: .milliseconds(9))))
        var rng = SeededRandom(seed: 8)
        for i in 0..<20_000 {
            let seconds = Double(i) * 0.0005
            _ = bench.deliver(until: seconds)
            bench.send(rng.below(2_000), rng.below(2_000), i, reliable: true, at: seconds)
        }
        #expect(bench.network.streamTail.count < 10_000)
    }
}
