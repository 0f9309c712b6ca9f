import Foundation
import Glibc
import enum ChorusSim.Linearizability
import Testing

/// Partitions of real processes: five agents, each in a network
/// namespace of its own joined by veth links to a bridge in a hub namespace, under a KV
/// workload and the fenced-counter lock workload, through a majority/minority split, an
/// isolated leader, a bridge node that sees both sides, a flapping link, and kill -9/restart
/// of one and then two nodes. After each heal membership must list all five alive; at the end
/// the KV history must be linearizable (the Raft tests' checker), the counter exact with tokens
/// strictly increasing in real time, and both checks must reject a planted fault.
///
/// Needs root (namespaces); runs only with CHORUS_CHAOS=1 (`scripts/chaos.sh`, which `.ci/run`
/// calls after `swift test`). Loss and delay are not injected here — there is no tc on the CI
/// machine — they come from the whole-node simulations (Sources/ChorusSim/Nodes).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CHORUS_CHAOS"] == "1"))
struct ChaosProcessTests {
    /// One fault: what it did, how long the heal took (nil: membership never healed).
    struct Step {
        var name: String
        var healSeconds: Double?
        /// (observer, member) pairs not alive just before the heal: the fault was felt.
        var downPairs: Int
        var mustShowDown: Bool
    }

    static let healTimeout = 90.0
    static let holdSeconds = 15.0

    /// The longest time in seconds, within [from, to], with none of `times` (nanoseconds).
    static func longestGap(_ times: [Int64], from: Int64, to: Int64) -> Double {
        let points = [from] + times.sorted() + [to]
        return zip(points, points.dropFirst()).map { Double($1 - $0) / 1e9 }.max() ?? 0
    }

    @Test func partitionsCrashesAndFlaps_keepKVLinearizableAndTheCounterExact() throws {
        try #require(getuid() == 0, "the chaos test makes network namespaces: run it as root")
        let started = Date()
        let env = ProcessInfo.processInfo.environment
        let prefix = "chaos-" + (env["CHORUS_CHAOS_ID"] ?? "\(getpid())")
        let lab = NetworkLab(prefix: prefix, nodeCount: 5)
        let work = NSTemporaryDirectory() + "chorus-" + prefix // scripts/chaos.sh removes it too
        try? FileManager.default.removeItem(atPath: work) // data of an earlier run with the same id
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let cluster = ChaosCluster(lab: lab, workDirectory: work, shards: 16)
        defer {
            cluster.shutdown()
            lab.remove()
            if env["CHORUS_CHAOS_KEEP"] == nil { try? FileManager.default.removeItem(atPath: work) }
        }
        try lab.create()
        for node in cluster.nodes { try cluster.start(node) }
        try #require(waitUntil(timeout: 120) { cluster.membershipHealed() && cluster.shardsLed(seenBy: 1) },
                     "the five agents did not form a cluster with every shard led:\n\(cluster.logs)")
        let formed = Date().timeIntervalSince(started)

        let kv = KVWorkload(keys: (0..<8).map { "chaos-k\($0)" })
        let counter = FencedCounterWorkload()
        let workloads: [any ChaosWorkload] = [kv, counter]
        for w in workloads { w.start(cluster) }
        defer { for w in workloads { w.stop() } } // also when a step throws; a second stop returns at once
        usleep(5_000_000)

        var steps: [Step] = []
        /// Applies a fault, holds it, heals it, and records what was seen.
        func step(_ name: String, mustShowDown: Bool, fault: () throws -> Void, heal: () throws -> Void) throws {
            let from = ChaosClients.now()
            try fault()
            // What the members saw just before the heal: (observer, member) pairs not alive.
            let down = cluster.running.reduce(0) { sum, n in
                sum + (cluster.members(seenBy: n)?.filter { $0.status != "alive" }.count ?? 0)
            }
            try heal()
            let healStart = Date()
            let healed = waitUntil(timeout: Self.healTimeout) { cluster.membershipHealed() }
            let seconds = healed ? Date().timeIntervalSince(healStart) : nil
            // Let the shards settle before the next fault, so each fault meets a led cluster.
            let led = waitUntil(timeout: 30) { cluster.shardsLed(seenBy: cluster.running.first ?? 1) }
            let ledSeconds = Date().timeIntervalSince(healStart)
            let to = ChaosClients.now()
            let window = kv.operations.filter { $0.call >= from && $0.returned <= to && !$0.discarded }
            let grantTimes = counter.recordedGrants.map(\.completed).filter { $0 >= from && $0 <= to }
            let grants = grantTimes.count
            let kvGap = Self.longestGap(window.map(\.returned), from: from, to: to)
            let lockGap = Self.longestGap(grantTimes, from: from, to: to)
            steps.append(Step(name: name, healSeconds: seconds, downPairs: down, mustShowDown: mustShowDown))
            print("chaos: \(name): \(down) (observer, member) pairs not alive before the heal; membership healed in "
                  + "\(seconds.map { String(format: "%.1f s", $0) } ?? "never"); shards led "
                  + (led ? String(format: "%.1f s", ledSeconds) + " after the heal" : "not within 30 s")
                  + "; during the step: \(window.count) KV ops completed (longest gap \(String(format: "%.1f", kvGap)) s), "
                  + "\(grants) lock grants (longest gap \(String(format: "%.1f", lockGap)) s)")
        }
        func hold() { usleep(UInt32(Self.holdSeconds * 1_000_000)) }

        // 1. Majority/minority: {1,2} | {3,4,5}.
        try step("split {1,2}|{3,4,5}", mustShowDown: true, fault: { try lab.split([1, 2], [3, 4, 5]); hold() },
                 heal: { try lab.healCuts() })

        // 2. The node leading the most shards, alone.
        let leader = cluster.busiestLeader(seenBy: 1) ?? 1
        try step("isolated leader n\(leader)", mustShowDown: true,
                 fault: { try lab.split([leader], cluster.nodes.filter { $0 != leader }); hold() },
                 heal: { try lab.healCuts() })

        // 3. A bridge: {1,2} and {4,5} cannot reach each other, 3 reaches everyone.
        try step("bridge n3 between {1,2} and {4,5}", mustShowDown: false, fault: { try lab.split([1, 2], [4, 5]); hold() },
                 heal: { try lab.healCuts() })

        // 4. A flapping link: node 2's veth down and up every 0.7 s for about 10 s.
        try step("flapping link n2 (0.7 s down, 0.7 s up, 7 times)", mustShowDown: false, fault: {
            for k in 0..<14 {
                try lab.setLink(2, up: k % 2 == 1)
                usleep(700_000)
            }
        }, heal: { try lab.setLink(2, up: true) })

        // 5. kill -9 of the busiest leader, restart from its data directory.
        let victim = cluster.busiestLeader(seenBy: 1) ?? 3
        try step("kill -9 n\(victim), restart", mustShowDown: true, fault: { cluster.kill(victim); hold() },
                 heal: { try cluster.start(victim) })

        // 6. kill -9 of two other nodes at once, restart both.
        let pair = [victim % 5 + 1, (victim + 2) % 5 + 1]
        try step("kill -9 n\(pair[0]) and n\(pair[1]), restart", mustShowDown: true,
                 fault: { for n in pair { cluster.kill(n) }; hold() },
                 heal: { for n in pair { try cluster.start(n) } })

        usleep(3_000_000)
        for w in workloads { w.stop() }
        let elapsed = Date().timeIntervalSince(started)

        for step in steps {
            #expect(step.healSeconds != nil, "membership did not heal to all five alive after \(step.name)\n\(cluster.logs)")
            if step.mustShowDown { #expect(step.downPairs > 0, "\(step.name): no member saw another one down") }
        }

        // KV: linearizable, and the checker rejects a history missing one write a read saw.
        let history = kv.operations
        let counts = kv.counts
        let t0 = Date()
        let verdict = Linearizability.check(history, stepBudget: 50_000_000)
        let checkSeconds = Date().timeIntervalSince(t0)
        #expect(verdict == .linearizable, "KV history of \(history.count) operations: \(verdict)")
        #expect(counts.completed > 200, "the KV clients made progress: \(counts)")
        let planted = try #require(KVWorkload.plantedLostWrite(history), "no read returned a written value")
        #expect(Linearizability.check(planted, stepBudget: 50_000_000) != .linearizable, "the checker rejects a lost write")

        // Counter: exact, tokens increasing in real time; the check rejects two swapped tokens.
        let grants = counter.recordedGrants
        let store = counter.storeState
        let problems = FencedCounterWorkload.violations(grants: grants, store: store)
        #expect(problems.isEmpty, "fenced counter: \(problems)")
        #expect(store.accepted > 20, "the lock clients made progress: \(store.accepted) increments")
        let swapped = try #require(FencedCounterWorkload.plantedTokenSwap(grants), "no two sequential grants")
        #expect(!FencedCounterWorkload.violations(grants: swapped, store: store).isEmpty, "the check rejects swapped tokens")

        print("chaos: lock client outcomes other than a grant: \(counter.outcomeCounts.sorted { $0.key < $1.key })")
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        print("chaos: cluster formed in \(f(formed)) s; run \(f(elapsed)) s; KV \(counts.completed) ops completed, "
              + "\(counts.open) open, \(counts.discarded) refused at connect; checker \(String(format: "%.2f", checkSeconds)) s: "
              + "\(verdict); counter \(store.value) (\(grants.count) grants, \(store.refused) stale writes refused); planted faults caught")
    }
}
