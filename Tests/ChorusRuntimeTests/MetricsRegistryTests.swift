import Foundation
import Testing
@testable import ChorusRuntime

@Suite struct MetricsRegistryTests {
    /// A registry with one of each kind, labels included.
    func populated() throws -> MetricsRegistry {
        let registry = MetricsRegistry()
        let probes = try registry.counter("chorus_probes_total", help: "Probes sent.", labels: ["result": "ack"])
        let failed = try registry.counter("chorus_probes_total", help: "Probes sent.", labels: ["result": "timeout"])
        probes.increment()
        probes.increment(by: 2)
        failed.increment()
        try registry.gauge("chorus_members", help: "Members by state.", labels: ["state": "alive"]).set(5)
        try registry.gauge("chorus_members", help: "Members by state.", labels: ["state": "suspect"]).set(0.5)
        let rtt = try registry.histogram("chorus_probe_rtt_seconds", help: "Probe round trip.\nSecond line \\ backslash.",
                                         buckets: [0.001, 0.01, 0.1], labels: ["peer": "10.0.0.2:7946 \"quoted\"\nnewline"])
        for v in [0.0005, 0.001, 0.005, 0.05, 0.5] { rtt.observe(v) }
        return registry
    }

    @Test func rendering_matchesTheExpositionFormat() throws {
        let text = try populated().render()
        #expect(text == """
        # HELP chorus_probes_total Probes sent.
        # TYPE chorus_probes_total counter
        chorus_probes_total{result="ack"} 3
        chorus_probes_total{result="timeout"} 1
        # HELP chorus_members Members by state.
        # TYPE chorus_members gauge
        chorus_members{state="alive"} 5
        chorus_members{state="suspect"} 0.5
        # HELP chorus_probe_rtt_seconds Probe round trip.\\nSecond line \\\\ backslash.
        # TYPE chorus_probe_rtt_seconds histogram
        chorus_probe_rtt_seconds_bucket{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline",le="0.001"} 2
        chorus_probe_rtt_seconds_bucket{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline",le="0.01"} 3
        chorus_probe_rtt_seconds_bucket{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline",le="0.1"} 4
        chorus_probe_rtt_seconds_bucket{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline",le="+Inf"} 5
        chorus_probe_rtt_seconds_sum{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline"} 0.5565
        chorus_probe_rtt_seconds_count{peer="10.0.0.2:7946 \\"quoted\\"\\nnewline"} 5

        """)
    }

    @Test func output_parsesWithAStrictLineParser() throws {
        let families = try ExpositionParser.parse(try populated().render())
        #expect(families.map(\.name) == ["chorus_probes_total", "chorus_members", "chorus_probe_rtt_seconds"])
        let histogram = try #require(families.last)
        let buckets = histogram.samples.filter { $0.name.hasSuffix("_bucket") }.map(\.value)
        #expect(buckets == buckets.sorted())  // cumulative
        #expect(histogram.samples.first { $0.name.hasSuffix("_count") }?.value == buckets.last)
    }

    @Test func output_passesPromtoolWhenInstalled() throws {
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let promtool else { return }  // optional tool; the line parser above always runs
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(try populated().render().utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "promtool: \(said)")
    }

    @Test func sameNameAndLabels_returnTheSameSeries() throws {
        let registry = MetricsRegistry()
        let a = try registry.counter("x_total", help: "x")
        let b = try registry.counter("x_total", help: "x")
        a.increment()
        b.increment()
        #expect(a.value == 2)
    }

    @Test func counter_ignoresNegativeIncrements() throws {
        let c = try MetricsRegistry().counter("x_total", help: "x")
        c.increment(by: -5)
        #expect(c.value == 0)
    }

    @Test(arguments: ["", "1abc", "has-dash", "space name", "ünicode"])
    func invalidMetricName_isRefused(_ name: String) {
        #expect(throws: MetricsError.invalidMetricName(name)) { try MetricsRegistry().gauge(name, help: "h") }
    }

    @Test(arguments: ["__reserved", "1x", "a-b", ""])
    func invalidLabelName_isRefused(_ label: String) {
        #expect(throws: MetricsError.invalidLabelName(metric: "m", label: label)) {
            try MetricsRegistry().gauge("m", help: "h", labels: [label: "v"])
        }
    }

    @Test func histogramLabelledLe_isRefused() {
        #expect(throws: MetricsError.invalidLabelName(metric: "h", label: "le")) {
            try MetricsRegistry().histogram("h", help: "h", labels: ["le": "1"])
        }
    }

    @Test func unsortedBuckets_areRefused() {
        #expect(throws: MetricsError.invalidBuckets(name: "h")) { try MetricsRegistry().histogram("h", help: "h", buckets: [1, 0.5]) }
    }

    @Test func sameNameAsAnotherType_orClashingSampleNames_isAConflict() throws {
        let registry = MetricsRegistry()
        _ = try registry.counter("a_total", help: "a")
        #expect(throws: MetricsError.self) { try registry.gauge("a_total", help: "a") }
        _ = try registry.histogram("lat", help: "l")
        #expect(throws: MetricsError.self) { try registry.gauge("lat_count", help: "c") }
    }

    @Test func seriesBeyondTheLimit_areRefused() throws {
        let registry = MetricsRegistry(maxSeries: 3)
        for i in 0..<3 { _ = try registry.counter("c_total", help: "c", labels: ["peer": "\(i)"]) }
        #expect(throws: MetricsError.tooManySeries(name: "c_total", limit: 3)) {
            try registry.counter("c_total", help: "c", labels: ["peer": "overflow"])
        }
    }

    @Test func concurrentUpdatesAndRenders_loseNothing() throws {
        let registry = MetricsRegistry()
        let c = try registry.counter("hits_total", help: "h")
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for i in 0..<2_500 {
                c.increment()
                if i % 500 == 0 { _ = registry.render() }
            }
        }
        #expect(c.value == 10_000)
    }
}

/// A strict reader of the text format, enough to check what the registry writes: every
/// sample belongs to the family announced by the preceding HELP/TYPE, names are valid, label
/// values are properly quoted, values parse as numbers.
enum ExpositionParser {
    struct Sample { let name: String; let labels: [String: String]; let value: Double }
    struct Family { let name: String; let type: String; var samples: [Sample] }
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func parse(_ text: String) throws -> [Family] {
        var families: [Family] = []
        var pendingHelp: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("# HELP ") {
                pendingHelp = String(line.dropFirst(7).split(separator: " ", maxSplits: 1).first ?? "")
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, String(parts[0]) == pendingHelp,
                      ["counter", "gauge", "histogram"].contains(parts[1]) else { throw Failure(description: "bad TYPE: \(line)") }
                families.append(Family(name: String(parts[0]), type: String(parts[1]), samples: []))
            } else {
                guard var family = families.popLast() else { throw Failure(description: "sample before TYPE: \(line)") }
                let sample = try parseSample(Substring(line))
                let allowed = family.type == "histogram"
                    ? [family.name + "_bucket", family.name + "_sum", family.name + "_count"] : [family.name]
                guard allowed.contains(sample.name) else { throw Failure(description: "sample \(sample.name) outside its family") }
                family.samples.append(sample)
                families.append(family)
            }
        }
        return families
    }

    static func parseSample(_ line: Substring) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard MetricNames.isValidMetricName(name) else { throw Failure(description: "bad name in \(line)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = String(rest.prefix { $0 != "=" })
                guard MetricNames.isValidLabelName(label) else { throw Failure(description: "bad label in \(line)") }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { throw Failure(description: "unquoted value in \(line)") }
                rest = rest.dropFirst(2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        guard let e = rest.first else { throw Failure(description: "dangling escape in \(line)") }
                        rest = rest.dropFirst()
                        switch e {
                        case "n": value.append("\n")
                        case "\\", "\"": value.append(e)
                        default: throw Failure(description: "bad escape in \(line)")
                        }
                    } else {
                        value.append(c)
                    }
                }
                guard rest.first == "\"" else { throw Failure(description: "unterminated value in \(line)") }
                rest = rest.dropFirst()
                labels[label] = value
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw Failure(description: "no space before value in \(line)") }
        let valueText = String(rest.dropFirst())
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(valueText) else { throw Failure(description: "bad value in \(line)") }
            value = v
        }
        return Sample(name: name, labels: labels, value: value)
    }
}
