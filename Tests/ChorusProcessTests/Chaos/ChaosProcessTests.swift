import Foundation
import Glibc
import enum ChorusSim.Linearizability
import Testing

/// Partitions of real processes (issue 15, requirement 7): five agents, each in a network
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
    }

    static let healTimeout = 90.0
    static let holdSeconds = 10.0

    @Test func partitionsCrashesAndFlaps_keepKVLinearizableAndTheCounterExact() throws {
        try #require(getuid() == 0, "the chaos test makes network namespaces: run it as root")
        let started = Date()
        let env = ProcessInfo.processInfo.environment
        let prefix = "chaos-" + (env["CHORUS_CHAOS_ID"] ?? "\(getpid())")
        let lab = NetworkLab(prefix: prefix, nodeCount: 5)
        let work = NSTemporaryDirectory() + "chorus-chaos-" + UUID().uuidString
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
        kv.start(cluster)
        counter.start(cluster)
        usleep(5_000_000)

        var steps: [Step] = []
        func heal(_ name: String) throws {
            try lab.healCuts()
            let t0 = Date()
            let healed = waitUntil(timeout: Self.healTimeout) { cluster.membershipHealed() }
            let seconds = healed ? Date().timeIntervalSince(t0) : nil
            steps.append(Step(name: name, healSeconds: seconds))
            print("chaos: \(name): membership healed in \(seconds.map { String(format: "%.1f s", $0) } ?? "never")")
            // Let the shards settle before the next fault, so each fault meets a led cluster.
            _ = waitUntil(timeout: 30) { cluster.shardsLed(seenBy: cluster.running.first ?? 1) }
        }
        func hold() { usleep(UInt32(Self.holdSeconds * 1_000_000)) }

        // 1. Majority/minority: {1,2} | {3,4,5}.
        try lab.split([1, 2], [3, 4, 5])
        hold()
        try heal("split 2|3")

        // 2. The node leading the most shards, alone.
        let leader = cluster.busiestLeader(seenBy: 1) ?? 1
        try lab.split([leader], cluster.nodes.filter { $0 != leader })
        hold()
        try heal("isolated leader n\(leader)")

        // 3. A bridge: {1,2} and {4,5} cannot reach each other, 3 reaches everyone.
        try lab.split([1, 2], [4, 5])
        hold()
        try heal("bridge n3 between {1,2} and {4,5}")

        // 4. A flapping link: node 2's veth down and up every 0.7 s for about 10 s.
        for k in 0..<14 {
            try lab.setLink(2, up: k % 2 == 1)
            usleep(700_000)
        }
        try lab.setLink(2, up: true)
        try heal("flapping link n2")

        // 5. kill -9 of the busiest leader, restart from its data directory.
        let victim = cluster.busiestLeader(seenBy: 1) ?? 3
        cluster.kill(victim)
        usleep(8_000_000)
        try cluster.start(victim)
        try heal("kill -9 n\(victim), restart")

        // 6. kill -9 of two nodes at once, restart both.
        let pair = [1, 4]
        for n in pair { cluster.kill(n) }
        usleep(8_000_000)
        for n in pair { try cluster.start(n) }
        try heal("kill -9 n1 and n4, restart")

        usleep(3_000_000)
        kv.stop()
        counter.stop()
        let elapsed = Date().timeIntervalSince(started)

        for step in steps {
            #expect(step.healSeconds != nil, "membership did not heal to all five alive after \(step.name)\n\(cluster.logs)")
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

        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        print("chaos: cluster formed in \(f(formed)) s; run \(f(elapsed)) s; KV \(counts.completed) ops completed, "
              + "\(counts.open) open, \(counts.discarded) refused at connect; checker \(String(format: "%.2f", checkSeconds)) s: "
              + "\(verdict); counter \(store.value) (\(grants.count) grants, \(store.refused) stale writes refused); planted faults caught")
    }
}
