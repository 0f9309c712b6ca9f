import ChorusCache

/// The cache's series in /metrics: this node's counters (its controller, and its homes of the
/// keys of the shards it leads) as `chorus_cache_*_total`, and the bytes its copies hold and
/// the entries its directories hold as gauges. Invariant: a counter series only grows (the
/// node's counters only grow within its life; a restart starts the process's registry anew).
final class CacheMetricSeries {
    private var counters: [(metric: CounterMetric, read: (CacheMetrics) -> UInt64, last: UInt64)] = []
    private let bytes: GaugeMetric?
    private let entries: GaugeMetric?

    init(registry: MetricsRegistry) {
        let series: [(String, String, (CacheMetrics) -> UInt64)] = [
            ("chorus_cache_hits_total", "Reads answered from a local copy.", { $0.hits }),
            ("chorus_cache_misses_total", "Reads that asked the key's home.", { $0.misses }),
            ("chorus_cache_writes_total", "Writes and deletes asked of the key's home.", { $0.writes }),
            ("chorus_cache_invalidations_sent_total", "Revocations sent by this node's homes.", { $0.invalidationsSent }),
            ("chorus_cache_invalidations_received_total", "Revocations received by this node's cache.", { $0.invalidationsReceived }),
            ("chorus_cache_evictions_total", "Copies given up to make room.", { $0.evictions }),
            ("chorus_cache_coherence_messages_total", "Coherence messages sent.", { $0.messagesSent }),
        ]
        for (name, help, read) in series {
            if let metric = try? registry.counter(name, help: help) { counters.append((metric, read, 0)) }
        }
        bytes = try? registry.gauge("chorus_cache_bytes", help: "Bytes held by this node's copies.")
        entries = try? registry.gauge("chorus_cache_directory_entries", help: "Directory entries of the keys this node homes.")
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
    }
}
