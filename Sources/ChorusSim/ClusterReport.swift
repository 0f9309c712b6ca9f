import Foundation
import ChorusBase
import ChorusMembership

/// The figures of one simulated run, as `chorus sim` prints them (text or one JSON object).
public struct ClusterReport: Sendable {
    public struct Detection: Sendable {
        public var firstP50: Double?, firstP99: Double?, allP50: Double?, allP99: Double?, max: Double?
        public var undetected: Int
    }
    public var nodes: Int
    public var seed: UInt64
    public var simulatedSeconds: Double
    public var wallSeconds: Double
    public var events: Int
    public var messages: Int
    public var bytes: Int
    public var dropped: Int
    public var digest: String
    public var convergedAt: Double?
    public var convergedAtEnd: Bool
    public var crashed: Int
    public var detection: Detection
    public var falsePositives: Int
    public var suspicions: Int
    public var falseSuspicions: Int
    /// The running members that were suspected at some point, ascending.
    public var suspectedWhileLive: [Int]
    public var peakRSSBytes: Int?
    public var memberEntries: Int
    /// Lanes the nodes were dealt into (see `ClusterSimulation`); part of what a seed replays.
    public var lanes: Int = 1
    public var timeline: SVGTimeline?

    public var eventsPerSecond: Double { wallSeconds > 0 ? Double(events) / wallSeconds : 0 }

    public var json: String {
        func num(_ d: Double?) -> String { d.map { String(format: "%.3f", $0) } ?? "null" }
        var s = "{"
        s += "\"nodes\":\(nodes),\"seed\":\(seed),\"simulated_seconds\":\(num(simulatedSeconds)),"
        s += "\"wall_seconds\":\(num(wallSeconds)),\"events\":\(events),\"events_per_second\":\(Int(eventsPerSecond)),"
        s += "\"messages\":\(messages),\"bytes\":\(bytes),\"dropped\":\(dropped),\"digest\":\"\(digest)\","
        s += "\"converged_at\":\(num(convergedAt)),\"converged_at_end\":\(convergedAtEnd),\"crashed\":\(crashed),"
        s += "\"detection\":{\"first_p50\":\(num(detection.firstP50)),\"first_p99\":\(num(detection.firstP99)),"
        s += "\"all_p50\":\(num(detection.allP50)),\"all_p99\":\(num(detection.allP99)),\"max\":\(num(detection.max)),"
        s += "\"undetected\":\(detection.undetected)},"
        s += "\"false_positives\":\(falsePositives),\"suspicions\":\(suspicions),\"false_suspicions\":\(falseSuspicions),"
        s += "\"member_entries\":\(memberEntries),\"lanes\":\(lanes),"
        s += "\"peak_rss_bytes\":\(peakRSSBytes.map(String.init) ?? "null")}"
        return s
    }

    public var text: String {
        func sec(_ d: Double?) -> String { d.map { String(format: "%.2fs", $0) } ?? "-" }
        var lines: [String] = []
        lines.append("Simulated \(nodes) nodes for \(sec(simulatedSeconds)) (seed \(seed)) in \(sec(wallSeconds)) of wall time")
        lines.append("  events        \(events) (\(Int(eventsPerSecond))/s, \(lanes) lane\(lanes == 1 ? "" : "s"))")
        lines.append("  traffic       \(messages) messages, \(bytes) bytes, \(dropped) dropped")
        lines.append("  converged at  \(sec(convergedAt))\(convergedAtEnd ? "" : " (NOT converged at the end)")")
        lines.append("  crashed       \(crashed)")
        lines.append("  detection     first p50 \(sec(detection.firstP50)) p99 \(sec(detection.firstP99)); all p50 \(sec(detection.allP50)) p99 \(sec(detection.allP99)) max \(sec(detection.max)); undetected \(detection.undetected)")
        lines.append("  suspicions    \(suspicions) (\(falseSuspicions) of live members)")
        lines.append("  false positives \(falsePositives)")
        if let rss = peakRSSBytes {
            lines.append(String(format: "  peak RSS      %.1f MiB (%d member entries, %.0f bytes each)", Double(rss) / 1048576, memberEntries,
                                memberEntries > 0 ? Double(rss) / Double(memberEntries) : 0))
        }
        lines.append("  digest        \(digest)")
        return lines.joined(separator: "\n")
    }
}

extension Observer {
    func report(config: ClusterConfig, now: Instant, nodes: [Membership?], network: NetworkCounters,
                events: Int, digest: String, wallSeconds: Double) -> ClusterReport {
        var first: [Double] = [], all: [Double] = []
        var undetected = 0
        var entries = 0
        var received = 0, applied = 0, sent: [MessageKind: Int] = [:]
        for m in nodes {
            if let m {
                entries += m.memberCount
                received += m.counters.updatesReceived; applied += m.counters.updatesApplied
                for (k, v) in m.counters.sent { sent[k, default: 0] += v }
            }
        }
        if ProcessInfo.processInfo.environment["CHORUS_SIM_DEBUG"] != nil {
            print("current RSS \(ProcessMemory.currentResidentBytes() ?? 0)")
            var sums: [String: Int] = [:]
            for m in nodes { if let m { for (k, v) in m.footprint { sums[k, default: 0] += v } } }
            print("footprint per member entry: " + sums.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", Double($0.value) / Double(max(1, entries))))" }.joined(separator: ", "))
            print("updates received \(received) applied \(applied); sent by kind \(sent.sorted { $0.key.rawValue < $1.key.rawValue })")
        }
        for c in crashes where !c.restarted {
            var last: Instant?
            var missed = false
            for o in 0..<n where live[o] && o != c.node {
                guard let m = nodes[o] else { continue }
                switch m.status(of: ClusterSimulation.name(c.node)) {
                case .alive?, .suspect?: missed = true
                case .dead?, .left?, nil:
                    if let t = c.detections[o] { last = max(last ?? t, t) }
                }
            }
            if let f = c.firstDead { first.append((f - c.at).seconds) }
            if missed { undetected += 1 } else if let l = last { all.append((l - c.at).seconds) }
            if ProcessInfo.processInfo.environment["CHORUS_SIM_DEBUG"] != nil {
                print("crash n\(c.node) at \(c.at) first \(c.firstDead.map { "\($0)" } ?? "-") last \(last.map { "\($0)" } ?? "-") detections \(c.detections.count) missed \(missed)")
            }
        }
        let fp = Percentiles(first), ap = Percentiles(all)
        var timeline: SVGTimeline?
        if config.sampleTimeline {
            var t = SVGTimeline(title: "chorus sim: \(config.nodes) nodes, seed \(config.seed)", yLabel: "members listed alive per view")
            t.series = [
                TimelineSeries(name: "max over views", color: "#2ca02c", points: aliveMax.map { (seconds: $0.0, value: $0.1) }),
                TimelineSeries(name: "mean over views", color: "#1f77b4", points: aliveMean.map { (seconds: $0.0, value: $0.1) }),
                TimelineSeries(name: "min over views", color: "#ff7f0e", points: aliveMin.map { (seconds: $0.0, value: $0.1) }),
                TimelineSeries(name: "suspect events per second per node", color: "#d62728",
                               points: suspicionsPerSecond.map { (seconds: $0.0, value: $0.1 / Double(max(1, n))) }, dashed: true),
            ]
            t.markers = markers
            timeline = t
        }
        return ClusterReport(
            nodes: config.nodes, seed: config.seed, simulatedSeconds: now.seconds, wallSeconds: wallSeconds,
            events: events, messages: network.sentMessages, bytes: network.sentBytes, dropped: network.totalDropped,
            digest: digest, convergedAt: convergedAt?.seconds, convergedAtEnd: converged(), crashed: crashes.count,
            detection: .init(firstP50: fp?.p50, firstP99: fp?.p99, allP50: ap?.p50, allP99: ap?.p99, max: ap?.max, undetected: undetected),
            falsePositives: falsePositivePairs.count, suspicions: suspicions, falseSuspicions: falseSuspicions,
            suspectedWhileLive: suspectedWhileLive.sorted(),
            peakRSSBytes: ProcessMemory.peakResidentBytes(), memberEntries: entries, timeline: timeline)
    }
}
