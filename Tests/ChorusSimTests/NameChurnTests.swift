import Foundation
import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusSim

/// Months of churn in short: 100 nodes, some of them short-lived workers replaced again
/// and again by new members with new names. Tombstones must end, so the member table and
/// the digest stay bounded, no old name comes back, and `max_members` is never reached.
///
/// Sped up: every 2.8 s each worker slot ends a life (crash or leave, alternately) and
/// starts a new name 1 s later; the tombstone time is 3 minutes instead of 1 hour (it must
/// stay above the time a node can hold a stale `alive`: one probe round-robin of 100
/// members plus a suspicion, about 2 minutes). The cost grows with names × nodes (every
/// node learns, suspects and forgets every name), so the default run uses 8 worker slots
/// (1,500 names, 9 simulated minutes, 3 tombstone lifetimes); the full 20,000 names run
/// with `CHORUS_FULL_CHURN=1` and take about 7–12 minutes in a debug build. That run failed
/// while suspicions could import members (about 20 old names stayed `suspect`); it passes
/// since a suspicion introduces no one (docs/membership.md).
@Suite struct NameChurnTests {
    struct Plan {
        var slots: Range<Int>
        var lives: Int
        var up = 1.8, down = 1.0
        let start = 20.0
        var tombstone = 180.0
        var cycle: Double { up + down }
        var names: Int { 100 - slots.count + slots.count * (lives + 1) }

        /// When life `life` of worker `slot` ends (its crash or leave).
        func end(_ slot: Int, life: Int) -> Double {
            start + Double(slot - slots.lowerBound) * cycle / Double(slots.count) + Double(life) * cycle + up
        }

        var config: ClusterConfig {
            var config = ClusterConfig()
            config.nodes = 100
            config.seed = 14
            config.restartAs = .newName
            config.network.latency = .uniform(low: .microseconds(500), high: .milliseconds(3))
            config.settings.tombstoneTimeout = Interval(seconds: tombstone)
            config.settings.maxMembers = 10_000
            // A leave is over before the slot's next life starts 1 s later.
            config.settings.leaveTimeout = .milliseconds(500)
            config.duration = Interval(seconds: end(slots.upperBound - 1, life: lives - 1) + down + 30)
            var actions: [TimedAction] = []
            for s in slots {
                for life in 0..<lives {
                    let t = end(s, life: life)
                    let who = NodeSelection.nodes([SimNodeID(s)])
                    actions.append(TimedAction(at: t, life % 2 == 0 ? .crash(who) : .leave(who)))
                    actions.append(TimedAction(at: t + down, .restart(who)))
                }
            }
            config.actions = actions.sorted { $0.at < $1.at }
            return config
        }

        /// The end of the life a name belongs to, or nil for a current life.
        func ended(_ name: String, sim: ClusterSimulation) -> Double? {
            guard name != sim.currentName(of: ClusterSimulation.index(of: name)) else { return nil }
            let parts = name.dropFirst().split(separator: ".")
            let slot = Int(parts[0]) ?? 0, life = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            return end(slot, life: life)
        }
    }

    func run(_ plan: Plan) {
        let config = plan.config
        var sim = ClusterSimulation(config)
        // Live members plus the tombstones of the last tombstone time (and 30 s of
        // detection and reaping slack).
        let bound = 100 + Int(Double(plan.slots.count) * (plan.tombstone + 30) / plan.cycle)
        var largest = 0, largestDigest = 0
        var t = 60.0
        while true {
            t = min(t, config.duration.seconds)
            sim.advance(until: Instant.zero + Interval(seconds: t))
            for o in 0..<100 {
                guard let m = sim.membership(of: o) else { continue }
                largest = max(largest, m.memberCount)
                largestDigest = max(largestDigest, m.footprint.first { $0.0 == "digest" }?.1 ?? 0)
                #expect(m.memberCount <= bound, "n\(o) holds \(m.memberCount) members at \(t) s")
                #expect(m.counters.membersRefused == 0)
                for info in m.members(at: sim.time) where info.status.isLive {
                    if let e = plan.ended(info.name, sim: sim) {
                        #expect(t - e < 120, "\(sim.currentName(of: o)) holds \(info.name), gone since \(e) s, as \(info.status) at \(t) s")
                    }
                }
            }
            if t >= config.duration.seconds { break }
            t += 60
        }
        let r = sim.report()
        for s in plan.slots { #expect(sim.currentName(of: s) == "n\(s).\(plan.lives)", "a restart was skipped") }
        #expect(largest > bound / 2, "the churn should fill tables with tombstones, got \(largest)")
        // About four members per digest bucket, eight bytes a bucket, and a power of two.
        #expect(largestDigest <= 8 * 2 * bound / 4 + 64)
        print("name churn: \(plan.names) names, largest table \(largest) (bound \(bound)), digest \(largestDigest) bytes, \(r.events) events, \(String(format: "%.1f", r.wallSeconds)) s wall")
    }

    @Test func thousandsOfShortLivedNames_keepTablesBounded_andNoneComesBack() {
        run(Plan(slots: 92..<100, lives: 175))
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CHORUS_FULL_CHURN"] == "1"))
    func twentyThousandShortLivedNames_keepTablesBounded_andNoneComesBack() {
        // 80 workers living 4 s each, a 5-minute tombstone, 25 simulated minutes. (With 95
        // of the 100 nodes living 1.8 s each, stale `alive` updates of names already
        // reaped came back faster than they died again, and tables reached max_members.)
        run(Plan(slots: 20..<100, lives: 250, up: 4, down: 2, tombstone: 300))
    }
}
