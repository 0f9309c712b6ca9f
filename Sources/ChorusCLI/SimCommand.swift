import Foundation
import ChorusBase
import ChorusMembership
import ChorusSim

/// `chorus sim`: runs the membership protocol for a whole simulated cluster.
enum SimCommand {
    static let spec = CommandSpec(
        name: "sim",
        summary: "Run the membership protocol on a simulated cluster (virtual time, simulated network).",
        usage: "chorus sim [SCENARIO.json] [options]",
        options: [
            .init("--nodes", value: "N", help: "Cluster size.", default: "100"),
            .init("--duration", value: "SECONDS", help: "Simulated seconds to run.", default: "60"),
            .init("--seed", value: "S", help: "Random seed; the same seed replays the same run.", default: "1"),
            .init("--loss", value: "P", help: "Datagram loss probability, 0..1.", default: "0"),
            .init("--duplication", value: "P", help: "Datagram duplication probability, 0..1.", default: "0"),
            .init("--reorder", value: "P", help: "Probability that a datagram is delayed past later ones.", default: "0"),
            .init("--latency-ms", value: "MEAN", help: "Mean one-way latency in milliseconds.", default: "1"),
            .init("--jitter", value: "KIND", help: "Latency distribution: constant, uniform, normal, lognormal or pareto.", default: "constant"),
            .init("--crash-fraction", value: "F", help: "Share of nodes crashed (memory lost) at --crash-at.", default: "0"),
            .init("--crash-at", value: "T", help: "Simulated second of the crash.", default: "half the duration"),
            .init("--partition-at", value: "T", help: "Split the cluster in two (a minority of --partition-fraction) at T."),
            .init("--partition-fraction", value: "F", help: "Share of nodes on the minority side.", default: "0.3"),
            .init("--heal-at", value: "T", help: "Heal the partition at T."),
            .init("--join-spread", value: "SECONDS", help: "Nodes start over this span, joining through node 0.", default: "2"),
            .init("--detector", value: "KIND", help: "Failure detector: phi or fixed (memberlist's 500 ms timeout).", default: "phi"),
            .init("--probe-timeout-ms", value: "MS", help: "Probe timeout of the fixed detector (and phi's prior).", default: "500"),
            .init("--suspicion-multiplier", value: "A", help: "Suspicion timeout minimum = A · log10(N) · probe interval.", default: "2"),
            .init("--retransmit-multiplier", value: "L", help: "Each update is gossiped at most L · ceil(log10(N+1)) times.", default: "4"),
            .init("--join-retransmit-multiplier", value: "L", help: "The same for news that a member joined (at least 8 sends below 1,000 nodes).", default: "1"),
            .init("--lanes", value: "N", help: "Deal the nodes into N lanes run side by side (needs a latency floor > 0).", default: "2 from 1,000 nodes, else 1"),
            .init("--threads", value: "N", help: "Threads running the lanes; the result does not depend on it.", default: "one per core"),
            .init("--wire-check", help: "Round-trip every datagram through the wire codec."),
            .init("--json", help: "Print exactly one JSON object."),
            .init("--progress", help: "Print a progress line to standard error every 10 simulated seconds."),
            .init("--svg", value: "FILE", help: "Write a timeline (members alive per view, suspicions, detections) as SVG."),
            .init("--workload", value: "KIND", help: "locks: run whole nodes (shards, locks) with a lock workload and its checker."),
            .init("--clients", value: "N", help: "Lock clients of --workload locks.", default: "6"),
            .init("--no-check-quorum", help: "With --workload locks: Raft leaders do not step down when cut off."),
        ],
        details: "A scenario file (JSON, see sim/README.md) sets the same things and timed actions; flags given\nafter it override its values.")

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        if let path = p.positionals.first, let locks = try lockScenario(path) { return try runLocks(p, base: locks) }
        if let w = p.string("--workload") {
            guard w == "locks" else { throw UsageError("--workload must be locks, got \"\(w)\"") }
            return try runLocks(p, base: NodeLockSettings())
        }
        var config = ClusterConfig()
        if p.positionals.count > 1 { throw UsageError("chorus sim takes at most one scenario file") }
        if let path = p.positionals.first {
            do {
                config = try ClusterConfig(scenario: Scenario.load(path: path))
            } catch {
                throw UsageError("\(path): \(error)")
            }
        }
        if let n = try p.int("--nodes") {
            guard n >= 1 && n <= Scenario.maximumNodes else { throw UsageError("--nodes must be in 1...\(Scenario.maximumNodes), got \(n)") }
            config.nodes = n
        }
        if let d = try p.double("--duration") {
            guard d > 0 && d <= 86_400 else { throw UsageError("--duration must be in (0, 86400] seconds, got \(d)") }
            config.duration = Interval(seconds: d)
        }
        if let s = try p.uint64("--seed") { config.seed = s }
        if let l = try p.probability("--loss") { config.network.loss = l }
        if let l = try p.probability("--duplication") { config.network.duplication = l }
        if let l = try p.probability("--reorder") { config.network.reorder = l }
        if p.string("--latency-ms") != nil || p.string("--jitter") != nil {
            let mean = try p.double("--latency-ms") ?? 1
            guard mean >= 0 && mean <= 60_000 else { throw UsageError("--latency-ms must be in 0...60000, got \(mean)") }
            config.network.latency = try latencyModel(kind: p.string("--jitter") ?? "constant", meanMilliseconds: mean)
        }
        if let s = try p.double("--join-spread") {
            guard s >= 0 && s <= 86_400 else { throw UsageError("--join-spread must be in [0, 86400] seconds, got \(s)") }
            config.joinSpread = Interval(seconds: s)
        }
        if let d = p.string("--detector") {
            switch d {
            case "phi": config.settings.detector = .phiAccrual
            case "fixed": config.settings.detector = .fixedTimeout
            default: throw UsageError("--detector must be phi or fixed, got \"\(d)\"")
            }
        }
        if let t = try p.double("--probe-timeout-ms") {
            guard t > 0 && t <= 60_000 else { throw UsageError("--probe-timeout-ms must be in (0, 60000], got \(t)") }
            config.settings.probeTimeout = Interval(seconds: t / 1000)
        }
        if let a = try p.double("--suspicion-multiplier") { config.settings.suspicionMultiplier = a }
        if let l = try p.int("--retransmit-multiplier") { config.settings.retransmitMultiplier = l }
        if let l = try p.int("--join-retransmit-multiplier") { config.settings.joinRetransmitMultiplier = l }
        if let f = try p.probability("--crash-fraction"), f > 0 {
            let at = try p.double("--crash-at") ?? config.duration.seconds / 2
            config.actions.append(TimedAction(at: at, .crash(.fraction(f))))
        }
        if let t = try p.double("--partition-at") {
            let f = try p.probability("--partition-fraction") ?? 0.3
            let minority = Array(0..<max(1, Int(Double(config.nodes) * f)))
            // Node 0 is the seed; keep it on the majority side.
            let side = minority.map { config.nodes - 1 - $0 }
            config.actions.append(TimedAction(at: t, .partition(groups: [side.map { SimNodeID($0) }])))
        }
        if let t = try p.double("--heal-at") {
            config.actions.append(TimedAction(at: t, .heal))
        }
        config.actions = config.actions.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        config.wireCheck = config.wireCheck || p.flag("--wire-check")
        config.progress = p.flag("--progress")
        if let n = try p.int("--lanes") {
            guard n >= 1 && n <= 64 else { throw UsageError("--lanes must be in 1...64, got \(n)") }
            config.lanes = n
        }
        if let n = try p.int("--threads") {
            guard n >= 1 && n <= 64 else { throw UsageError("--threads must be in 1...64, got \(n)") }
            config.threads = n
        }
        let svgPath = p.string("--svg")
        config.sampleTimeline = svgPath != nil
        do { try config.settings.validate() } catch { throw UsageError(error.message) }

        if config.nodes >= 1_000 { MallocTuning.reexecuteIfUntuned() }
        var sim = ClusterSimulation(config)
        if let probe = ProcessInfo.processInfo.environment["CHORUS_SIM_STRAGGLERS_AT"], let t = Double(probe) {
            sim.advance(until: .zero + Interval(seconds: t))
            for line in sim.stragglers() { FileHandle.standardError.write(Data("straggler: \(line)\n".utf8)) }
        }
        let report = sim.run()
        if let svgPath, let t = report.timeline {
            do { try t.render().write(toFile: svgPath, atomically: true, encoding: .utf8) } catch {
                throw UsageError("cannot write \(svgPath): \(error.localizedDescription)")
            }
        }
        print(p.flag("--json") ? report.json : report.text)
        return 0
    }

    /// A latency distribution with the given mean (heavy-tailed kinds keep the mean).
    static func latencyModel(kind: String, meanMilliseconds mean: Double) throws -> LatencyModel {
        let m = Interval(seconds: mean / 1000)
        switch kind {
        case "constant": return .constant(m)
        case "uniform": return .uniform(low: .zero, high: m * 2)
        case "normal": return .normal(mean: m, stddev: m.scaled(0.25))
        case "lognormal":
            // sigma 1: mean = median · e^{1/2}.
            return .lognormal(median: m.scaled(1 / 1.6487), sigma: 1)
        case "pareto":
            // shape 2: mean = 2 · minimum.
            return .pareto(minimum: m.scaled(0.5), shape: 2)
        default: throw UsageError("--jitter must be constant, uniform, normal, lognormal or pareto, got \"\(kind)\"")
        }
    }

    // MARK: whole nodes

    /// The settings of a scenario file that names `"workload": "locks"`, else nil.
    static func lockScenario(_ path: String) throws -> NodeLockSettings? {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["workload"] as? String == "locks" else {
            return nil
        }
        do { return try JSONDecoder().decode(NodeLockSettings.self, from: data) } catch {
            throw UsageError("\(path): \(error)")
        }
    }

    /// `chorus sim --workload locks`: whole nodes, the lock workload, the checker's verdict.
    static func runLocks(_ p: ParsedArguments, base: NodeLockSettings) throws -> Int32 {
        var s = base
        if let n = try p.int("--nodes") { s.nodes = n }
        if let d = try p.double("--duration") { s.durationSeconds = d }
        if let seed = try p.uint64("--seed") { s.seed = seed }
        if let c = try p.int("--clients") { s.clients = c }
        if let l = try p.probability("--loss") { s.loss = l }
        if let l = try p.probability("--duplication") { s.duplication = l }
        if let l = try p.probability("--reorder") { s.reorder = l }
        if p.flag("--no-check-quorum") { s.checkQuorum = false }
        do { try s.validate() } catch { throw UsageError(error.description) }
        if !p.flag("--json") {
            print("whole-node lock run: seed \(s.seed), \(s.nodes) nodes, \(s.shards) shards, \(s.clients) clients, \(s.durationSeconds) s,"
                  + " loss \(s.loss), duplication \(s.duplication), reorder \(s.reorder), clock drift ±\(s.clockDrift),"
                  + " faults every \(s.faultEverySeconds) s, check-quorum \(s.checkQuorum)")
        }
        let report = try NodeLockRun(settings: s).run()
        if p.flag("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var object = (try? JSONSerialization.jsonObject(with: encoder.encode(report))) as? [String: Any] ?? [:]
            object["violation_count"] = report.violations.count
            object["passed"] = report.passed
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let c = report.counters
            print("digest \(report.digest): \(c.sessions) sessions, \(c.acquires) acquires, \(c.grants) grants, \(c.waitFailures) waits failed,"
                  + " \(c.keepAlives) keep-alives (\(c.expiredAnswers) expired), \(c.pauses) client pauses, \(c.crashes) crashes,"
                  + " \(c.partitions) partitions; frames \(report.framesSent) (\(report.framesLost) lost, \(report.framesDuplicated) duplicated)")
            print(report.passed ? "no violations" : "\(report.violations.count) violations:\n" + report.violations.prefix(20).joined(separator: "\n"))
            if !report.passed { print("replay: \(report.replay)") }
        }
        return report.passed ? 0 : 1
    }
}
