import ChorusCache

/// The cache's series in /metrics: this node's counters (its controller, and its homes of the
/// keys of the shards it leads) as `chorus_cache_*_total`, and the bytes its copies hold and
/// the entries its directories hold and the coherence messages per operation as gauges, and
/// the latency of reads taken here as two histograms: `chorus_cache_hit_seconds` (answered
/// from this node's copy) and `chorus_cache_miss_seconds` (asked of the key's home, or of a
/// replica of its shard). Invariant: a counter series only grows (the node's counters only
/// grow within its life; a restart starts the process's registry anew).
final class CacheMetricSeries {
    private var counters: [(metric: CounterMetric, read: (CacheMetrics) -> UInt64, last: UInt64)] = []
    private let bytes: GaugeMetric?
    private let entries: GaugeMetric?
    private let perOperation: GaugeMetric?
    private let hitSeconds: HistogramMetric?
    private let missSeconds: HistogramMetric?
    /// From 50 µs (a local hit) to 5 s (a takeover's quiet period and more).
    static let latencyBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25, 0.5, 1, 2.5, 5]

    init(registry: MetricsRegistry) {
        let series: [(String, String, (CacheMetrics) -> UInt64)] = [
            ("chorus_cache_hits_total", "Reads answered from a local copy.", { $0.hits }),
            ("chorus_cache_misses_total", "Reads that asked the key's home.", { $0.misses }),
            ("chorus_cache_writes_total", "Writes and deletes asked of the key's home.", { $0.writes }),
            ("chorus_cache_invalidations_sent_total", "Revocations sent by this node's homes.", { $0.invalidationsSent }),
            ("chorus_cache_invalidations_received_total", "Revocations received by this node's cache.", { $0.invalidationsReceived }),
            ("chorus_cache_evictions_total", "Copies given up to make room.", { $0.evictions }),
            ("chorus_cache_coherence_messages_total", "Coherence messages sent.", { $0.messagesSent }),
            ("chorus_cache_operations_total", "Cache operations completed by this node's cache (any outcome).", { $0.operations }),
            ("chorus_cache_expirations_total", "Copies dropped because their lease or their key's TTL ran out.", { $0.expirations }),
        ]
        for (name, help, read) in series {
            if let metric = try? registry.counter(name, help: help) { counters.append((metric, read, 0)) }
        }
        bytes = try? registry.gauge("chorus_cache_bytes", help: "Bytes held by this node's copies.")
        entries = try? registry.gauge("chorus_cache_directory_entries", help: "Directory entries of the keys this node homes.")
        perOperation = try? registry.gauge("chorus_cache_messages_per_operation",
                                           help: "Coherence messages sent per cache operation completed, over this node's life.")
        hitSeconds = try? registry.histogram("chorus_cache_hit_seconds", help: "Reads taken here and answered from this node's copy.",
                                             buckets: CacheMetricSeries.latencyBuckets)
        missSeconds = try? registry.histogram("chorus_cache_miss_seconds", help: "Reads taken here that asked the key's home (or a replica of its shard).",
                                              buckets: CacheMetricSeries.latencyBuckets)
    }

    /// Records one read's latency, as a hit or a miss.
    func observeRead(hit: Bool, seconds: Double) {
        (hit ? hitSeconds : missSeconds)?.observe(seconds)
    }

    func refresh(from m: CacheMetrics) {
        for i in counters.indices {
            let value = counters[i].read(m)
            guard value > counters[i].last else { continue }
            counters[i].metric.increment(by: Double(value - counters[i].last))
            counters[i].last = value
        }
        bytes?.set(Double(m.bytes))
        entries?.set(Double(m.directoryEntries))
        perOperation?.set(m.messagesPerOperation)
    }
}
