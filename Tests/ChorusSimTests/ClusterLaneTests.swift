import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusSim

/// Lanes: the nodes of a simulation dealt into groups that run side by side for one
/// lookahead window at a time. The run must not depend on how many threads ran the lanes,
/// and the protocol must behave as it does on one lane.
@Suite struct ClusterLaneTests {
    /// 1 ms of propagation under lognormal jitter: a lookahead of 1 ms.
    static func config(nodes: Int, seconds: Int64, seed: UInt64, lanes: Int, threads: Int) -> ClusterConfig {
        var c = ClusterConfig()
        c.nodes = nodes
        c.duration = .seconds(seconds)
        c.seed = seed
        c.network.latency = .shifted(base: .milliseconds(1), .lognormal(median: .milliseconds(1), sigma: 0.5))
        c.network.loss = 0.01
        c.network.duplication = 0.01
        c.network.reorder = 0.05
        c.joinSpread = .seconds(1)
        c.lanes = lanes
        c.threads = threads
        return c
    }

    /// Crash, restart, leave, partition and heal, all crossing lanes.
    static let actions = [
        TimedAction(at: 8, .crash(.nodes([SimNodeID(5), SimNodeID(12)]))),
        TimedAction(at: 12, .leave(.nodes([SimNodeID(20)]))),
        TimedAction(at: 16, .restart(.nodes([SimNodeID(5)]))),
        TimedAction(at: 20, .partition(groups: [(30..<36).map { SimNodeID($0) }])),
        TimedAction(at: 40, .heal),
    ]

    @Test func threadCountDoesNotChangeTheRun() {
        var c = Self.config(nodes: 36, seconds: 70, seed: 7, lanes: 3, threads: 1)
        c.actions = Self.actions
        var one = ClusterSimulation(c)
        c.threads = 3
        var three = ClusterSimulation(c)
        #expect(one.laneCount == 3 && three.laneCount == 3)
        let a = one.run(), b = three.run()
        #expect(a.digest == b.digest && a.events == b.events && a.messages == b.messages && a.bytes == b.bytes)
        #expect(a.convergedAt == b.convergedAt && a.suspicions == b.suspicions)
        #expect(a.lanes == 3 && a.json.contains("\"lanes\":3") && a.text.contains("3 lanes"))
        c.seed = 8
        var other = ClusterSimulation(c)
        #expect(other.run().digest != a.digest)
    }

    /// Where windows end (at checks, timeline samples, a test's `advance(until:)`) must not
    /// change the run: events carry the stamp of the lane that made them.
    @Test func windowBoundariesDoNotChangeTheRun() {
        var c = Self.config(nodes: 36, seconds: 40, seed: 5, lanes: 2, threads: 2)
        c.actions = Self.actions.filter { $0.time < Instant.zero + .seconds(40 as Int64) }
        // A constant delay: packets sent at one instant arrive at one instant, so the order of
        // simultaneous events is exercised all the time.
        c.network.latency = .constant(.milliseconds(1))
        var whole = ClusterSimulation(c)
        let a = whole.run()
        c.sampleTimeline = true
        var stepped = ClusterSimulation(c)
        var t = 0.0
        while t < 40 {
            t += 0.737
            stepped.advance(until: Instant.zero + Interval(seconds: t))
        }
        let b = stepped.run()
        #expect(a.digest == b.digest && a.messages == b.messages && a.bytes == b.bytes && a.suspicions == b.suspicions)
    }

    @Test func protocolOutcomesHoldAcrossLanes() {
        var c = Self.config(nodes: 36, seconds: 70, seed: 3, lanes: 2, threads: 2)
        c.actions = Self.actions
        var sim = ClusterSimulation(c)
        sim.advance(until: Instant.zero + .seconds(15))
        for o in 0..<36 where ![5, 12, 20].contains(o) {
            #expect(sim.status(of: 12, seenBy: o) == .dead, "n\(o) on 12")
            #expect(sim.status(of: 20, seenBy: o) == .left, "n\(o) on 20")
        }
        #expect(!sim.isRunning(20))
        sim.advance(until: Instant.zero + .seconds(39))
        for a in 0..<30 where ![12, 20].contains(a) {
            for b in 30..<36 { #expect(sim.status(of: b, seenBy: a) == .dead, "n\(a) on n\(b) during the partition") }
        }
        let r = sim.run()
        #expect(r.convergedAtEnd, "\(sim.stragglers())")
        // (The partition's sides declare each other dead: those count as false positives.)
        #expect(r.crashed == 2 && r.detection.undetected == 0)
        for o in 0..<36 where ![12, 20].contains(o) { #expect(sim.status(of: 5, seenBy: o) == .alive) }
    }

    @Test func noLookahead_meansOneLane() {
        var c = Self.config(nodes: 10, seconds: 1, seed: 1, lanes: 4, threads: 4)
        c.network.latency = .lognormal(median: .milliseconds(1), sigma: 0.5)
        #expect(ClusterSimulation(c).laneCount == 1)
        c.network.latency = .constant(.milliseconds(1))
        #expect(ClusterSimulation(c).laneCount == 4)
        c.network.linkLatency[SimLink(from: SimNodeID(1), to: SimNodeID(2))] = .normal(mean: .milliseconds(2), stddev: .milliseconds(1))
        #expect(ClusterSimulation(c).laneCount == 1)
    }

    @Test func lowerBound_isTheLeastSample() {
        var rng = SeededRandom(seed: 9)
        let models: [LatencyModel] = [
            .constant(.milliseconds(3)),
            .uniform(low: .microseconds(700), high: .milliseconds(2)),
            .pareto(minimum: .microseconds(400), shape: 1.5),
            .shifted(base: .milliseconds(1), .uniform(low: .microseconds(50), high: .microseconds(60))),
        ]
        for m in models {
            #expect(m.lowerBound > .zero)
            for _ in 0..<2_000 { #expect(m.sample(using: &rng) >= m.lowerBound) }
        }
        #expect(LatencyModel.lognormal(median: .milliseconds(1), sigma: 1).lowerBound == .zero)
        #expect(LatencyModel.shifted(base: .milliseconds(2), .constant(.milliseconds(1))).lowerBound == .milliseconds(3))
    }
}
