import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusSim

/// Lifeguard in full on the simulator: no false positive at 5% loss, and a node restarted
/// at a new address or with new tags is known everywhere with them within a few periods.
/// A failing seed replays with `chorus sim --nodes N --seed S --loss L`.
@Suite struct LifeguardSimulationTests {
    static func config(nodes: Int, seconds: Double, seed: UInt64, loss: Double = 0) -> ClusterConfig {
        var c = ClusterConfig()
        c.nodes = nodes
        c.duration = Interval(seconds: seconds)
        c.seed = seed
        c.network.latency = .lognormal(median: .milliseconds(2), sigma: 0.5)
        c.network.loss = loss
        c.joinSpread = .seconds(2)
        return c
    }

    /// 10 simulated minutes at 5% datagram loss: suspicions happen and are refuted, and no
    /// healthy member is ever declared dead. (1,000 nodes: see docs/membership.md, run with
    /// the release build.)
    @Test func fivePercentLoss_hundredNodes_tenMinutes_noFalsePositive() {
        var sim = ClusterSimulation(Self.config(nodes: 100, seconds: 600, seed: 3, loss: 0.05))
        let r = sim.run()
        #expect(r.convergedAtEnd)
        #expect(r.falsePositives == 0, "false positives at 5% loss: \(r.falsePositives)")
    }

    /// 20 nodes; at 10 s nodes 4, 9 and 15 crash and come back 0.5 s later as `restartAs`
    /// says — before anyone could declare their old selves dead.
    static func restarted(as identity: RestartIdentity) -> ClusterSimulation {
        var c = Self.config(nodes: 20, seconds: 16, seed: 8)
        c.restartAs = identity
        let who = NodeSelection.nodes([SimNodeID(4), SimNodeID(9), SimNodeID(15)])
        c.actions = [TimedAction(at: 10, .crash(who)), TimedAction(at: 10.5, .restart(who))]
        var sim = ClusterSimulation(c)
        sim.advance(until: Instant.zero + .seconds(13))
        return sim
    }

    @Test func restartAtANewAddress_isKnownEverywhereThereWithinThreePeriods() {
        let sim = Self.restarted(as: .newAddress)
        for v in [4, 9, 15] {
            let moved = RestartIdentity.newAddress.address(v, life: 1)
            for o in 0..<20 where o != v {
                let m = sim.membership(of: o)?.member(named: "n\(v)", at: sim.time)
                #expect(m?.address == moved && m?.status == .alive, "n\(o) holds n\(v) as \(String(describing: m?.status)) at \(String(describing: m?.address))")
            }
        }
    }

    @Test func restartWithNewTags_isKnownEverywhereWithThemWithinThreePeriods() {
        let sim = Self.restarted(as: .newTags)
        for v in [4, 9, 15] {
            for o in 0..<20 where o != v {
                let m = sim.membership(of: o)?.member(named: "n\(v)", at: sim.time)
                #expect(m?.tags["life"] == "1" && m?.status == .alive, "n\(o) holds n\(v) with tags \(String(describing: m?.tags))")
            }
        }
    }
}
