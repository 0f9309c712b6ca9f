/// The three metric types of the exposition format the registry supports.
enum MetricKind: String, Sendable {
    case counter, gauge, histogram
}

/// One label pair of a series.
struct MetricLabel: Hashable, Sendable {
    let name: String
    let value: String
}

/// Where a series lives inside `MetricsState`: family index and series index.
/// Invariant: indices are never reused or invalidated (families and series are only added).
struct MetricSlot: Sendable {
    let family: Int
    let series: Int
}

/// Name rules of the Prometheus data model.
enum MetricNames {
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}

/// All families and their series values, kept behind the registry's mutex.
/// Invariant: `familyIndex` and every family's `seriesIndex` point at existing entries, and
/// `sampleNames` holds every sample name any family renders.
struct MetricsState {
    struct Series {
        let labels: [MetricLabel]
        var value: Double = 0
        var bucketCounts: [UInt64] = []  // per bucket, not cumulative; rendered cumulatively
        var sum: Double = 0
        var count: UInt64 = 0
    }

    struct Family {
        let name: String
        let help: String
        let kind: MetricKind
        let buckets: [Double]
        var series: [Series] = []
        var seriesIndex: [[MetricLabel]: Int] = [:]
    }

    private(set) var families: [Family] = []
    private var familyIndex: [String: Int] = [:]
    private var sampleNames: Set<String> = []
    private var seriesCount = 0

    mutating func slot(name: String, help: String, kind: MetricKind, buckets: [Double], labels: [MetricLabel],
                       maxSeries: Int) throws(MetricsError) -> MetricSlot {
        let f: Int
        if let existing = familyIndex[name] {
            let family = families[existing]
            guard family.kind == kind else {
                throw MetricsError.conflict(name: name, reason: "already registered as a \(family.kind.rawValue)")
            }
            guard family.help == help else { throw MetricsError.conflict(name: name, reason: "registered before with other help text") }
            guard family.buckets == buckets else { throw MetricsError.conflict(name: name, reason: "registered before with other buckets") }
            f = existing
        } else {
            let names = kind == .histogram ? [name + "_bucket", name + "_sum", name + "_count"] : [name]
            if let clash = names.first(where: { sampleNames.contains($0) }) {
                throw MetricsError.conflict(name: name, reason: "sample name \(clash) is already used by another metric")
            }
            sampleNames.formUnion(names)
            families.append(Family(name: name, help: help, kind: kind, buckets: buckets))
            f = families.count - 1
            familyIndex[name] = f
        }
        if let s = families[f].seriesIndex[labels] { return MetricSlot(family: f, series: s) }
        guard seriesCount < maxSeries else { throw MetricsError.tooManySeries(name: name, limit: maxSeries) }
        var series = Series(labels: labels)
        if kind == .histogram { series.bucketCounts = Array(repeating: 0, count: buckets.count) }
        families[f].series.append(series)
        let s = families[f].series.count - 1
        families[f].seriesIndex[labels] = s
        seriesCount += 1
        return MetricSlot(family: f, series: s)
    }

    mutating func add(_ amount: Double, at slot: MetricSlot) {
        families[slot.family].series[slot.series].value += amount
    }

    mutating func set(_ value: Double, at slot: MetricSlot) {
        families[slot.family].series[slot.series].value = value
    }

    func value(at slot: MetricSlot) -> Double { families[slot.family].series[slot.series].value }

    func count(at slot: MetricSlot) -> UInt64 { families[slot.family].series[slot.series].count }

    mutating func observe(_ value: Double, at slot: MetricSlot) {
        let buckets = families[slot.family].buckets
        // First bucket whose upper bound holds the value (binary search; `le` is inclusive).
        var lo = 0, hi = buckets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if value <= buckets[mid] { hi = mid } else { lo = mid + 1 }
        }
        if lo < buckets.count { families[slot.family].series[slot.series].bucketCounts[lo] += 1 }
        families[slot.family].series[slot.series].sum += value
        families[slot.family].series[slot.series].count += 1
    }

    // MARK: Exposition format 0.0.4

    func render() -> String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(MetricsState.escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for series in family.series {
                switch family.kind {
                case .counter, .gauge:
                    out += "\(family.name)\(MetricsState.labelText(series.labels)) \(MetricsState.number(series.value))\n"
                case .histogram:
                    var cumulative: UInt64 = 0
                    for (i, bound) in family.buckets.enumerated() {
                        cumulative += series.bucketCounts[i]
                        let labels = series.labels + [MetricLabel(name: "le", value: MetricsState.number(bound))]
                        out += "\(family.name)_bucket\(MetricsState.labelText(labels)) \(cumulative)\n"
                    }
                    let inf = series.labels + [MetricLabel(name: "le", value: "+Inf")]
                    out += "\(family.name)_bucket\(MetricsState.labelText(inf)) \(series.count)\n"
                    out += "\(family.name)_sum\(MetricsState.labelText(series.labels)) \(MetricsState.number(series.sum))\n"
                    out += "\(family.name)_count\(MetricsState.labelText(series.labels)) \(series.count)\n"
                }
            }
        }
        return out
    }

    static func labelText(_ labels: [MetricLabel]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Integers without a fraction; `+Inf`, `-Inf` and `NaN` spelled as the format wants.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
