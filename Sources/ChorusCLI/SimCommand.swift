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
        ],
        details: "A scenario file (JSON, see sim/README.md) sets the same things and timed actions; flags given\nafter it override its values.")

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
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
            guard n >= 1 && n <= 1_000_000 else { throw UsageError("--nodes must be in 1...1000000, got \(n)") }
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
            guard s >= 0 else { throw UsageError("--join-spread must not be negative") }
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
}
