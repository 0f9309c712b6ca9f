import Synchronization

/// Counters, gauges and histograms with label sets, rendered in the Prometheus text
/// exposition format 0.0.4 for `GET /metrics`.
///
/// Invariants:
/// - Metric and label names are valid Prometheus names (checked at registration), and no two
///   families can render the same sample name (a histogram's `_bucket`/`_sum`/`_count`
///   included).
/// - The number of series is bounded by `maxSeries`, so label values that come from outside
///   input cannot grow memory without limit.
/// - One mutex guards all values: updates come from the loop thread, `render()` may run on
///   any thread and sees a consistent snapshot.
/// - Output is deterministic: families and series in registration order, labels sorted by name.
public final class MetricsRegistry: Sendable {
    /// The `Content-Type` of `render()`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Prometheus client libraries' default latency buckets, in seconds.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Default bound on series: generous for one agent's own metrics, small enough that a
    /// label fed by hostile input cannot exhaust memory.
    public static let defaultMaxSeries = 10_000

    public let maxSeries: Int
    let state: Mutex<MetricsState>

    public init(maxSeries: Int = MetricsRegistry.defaultMaxSeries) {
        precondition(maxSeries > 0, "MetricsRegistry maxSeries must be positive")
        self.maxSeries = maxSeries
        self.state = Mutex(MetricsState())
    }

    /// A counter series (created at 0 on first registration; the same name and labels give
    /// the same series again).
    public func counter(_ name: String, help: String, labels: [String: String] = [:]) throws(MetricsError) -> CounterMetric {
        CounterMetric(registry: self, slot: try register(name, help: help, kind: .counter, buckets: [], labels: labels))
    }

    public func gauge(_ name: String, help: String, labels: [String: String] = [:]) throws(MetricsError) -> GaugeMetric {
        GaugeMetric(registry: self, slot: try register(name, help: help, kind: .gauge, buckets: [], labels: labels))
    }

    /// A histogram series with fixed upper bounds `buckets` (finite, strictly increasing;
    /// the `+Inf` bucket is implicit).
    public func histogram(_ name: String, help: String, buckets: [Double] = MetricsRegistry.defaultBuckets,
                          labels: [String: String] = [:]) throws(MetricsError) -> HistogramMetric {
        var bounds = buckets
        if bounds.last == .infinity { bounds.removeLast() }
        guard bounds.allSatisfy(\.isFinite), zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw MetricsError.invalidBuckets(name: name)
        }
        if labels["le"] != nil { throw MetricsError.invalidLabelName(metric: name, label: "le") }
        return HistogramMetric(registry: self, slot: try register(name, help: help, kind: .histogram, buckets: bounds, labels: labels))
    }

    /// The exposition text of every family.
    public func render() -> String {
        state.withLock { $0.render() }
    }

    private func register(_ name: String, help: String, kind: MetricKind, buckets: [Double],
                          labels: [String: String]) throws(MetricsError) -> MetricSlot {
        guard MetricNames.isValidMetricName(name) else { throw MetricsError.invalidMetricName(name) }
        for label in labels.keys where !MetricNames.isValidLabelName(label) {
            throw MetricsError.invalidLabelName(metric: name, label: label)
        }
        let sortedLabels = labels.sorted { $0.key < $1.key }.map { MetricLabel(name: $0.key, value: $0.value) }
        let limit = maxSeries
        return try state.withLock { (state: inout MetricsState) throws(MetricsError) -> MetricSlot in
            try state.slot(name: name, help: help, kind: kind, buckets: buckets, labels: sortedLabels, maxSeries: limit)
        }
    }
}

/// A monotonically increasing count. Invariant: its value never decreases (negative or NaN
/// increments are ignored).
public struct CounterMetric: Sendable {
    let registry: MetricsRegistry
    let slot: MetricSlot

    public func increment(by amount: Double = 1) {
        guard amount >= 0 else { return }
        registry.state.withLock { $0.add(amount, at: slot) }
    }

    public var value: Double { registry.state.withLock { $0.value(at: slot) } }
}

/// A value that goes up and down.
public struct GaugeMetric: Sendable {
    let registry: MetricsRegistry
    let slot: MetricSlot

    public func set(_ value: Double) { registry.state.withLock { $0.set(value, at: slot) } }
    public func add(_ amount: Double) { registry.state.withLock { $0.add(amount, at: slot) } }
    public func increment() { add(1) }
    public func decrement() { add(-1) }

    public var value: Double { registry.state.withLock { $0.value(at: slot) } }
}

/// Observations counted into fixed buckets, with their sum and count.
public struct HistogramMetric: Sendable {
    let registry: MetricsRegistry
    let slot: MetricSlot

    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        registry.state.withLock { $0.observe(value, at: slot) }
    }

    /// Number of observations so far.
    public var count: UInt64 { registry.state.withLock { $0.count(at: slot) } }
}

/// Why a metric could not be registered. Invariant: names the metric concerned.
public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidMetricName(String)
    case invalidLabelName(metric: String, label: String)
    case invalidBuckets(name: String)
    /// Registered before with another type, help text or buckets, or its sample names clash
    /// with another family's.
    case conflict(name: String, reason: String)
    case tooManySeries(name: String, limit: Int)

    public var description: String {
        switch self {
        case let .invalidMetricName(n): return "invalid metric name \"\(n)\": must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        case let .invalidLabelName(m, l): return "invalid label name \"\(l)\" on \(m): must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be le on a histogram"
        case let .invalidBuckets(n): return "histogram \(n): buckets must be finite and strictly increasing"
        case let .conflict(n, reason): return "metric \(n) conflicts: \(reason)"
        case let .tooManySeries(n, limit): return "metric \(n): registry already holds \(limit) series"
        }
    }
}
