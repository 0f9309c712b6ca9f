import ChorusNode
import ChorusQueue
import ChorusShards

/// The queue metrics of one agent: for every partition this node leads, its depth, messages
/// in flight, dead letters, the age of its oldest message, and its replicated counters
/// (published, acked, redeliveries, dead-lettered), labelled `queue` and `partition`.
/// Each partition is reported by its leader only, so summing over agents counts it once.
/// The node that took a publish or fetch also observes its duration, labelled `queue`.
/// Invariant: a counter series only grows (it follows replicated counters, which only grow;
/// a partition reported anew by another leader continues from the same values).
final class QueueMetrics {
    private let registry: MetricsRegistry
    private var gauges: [String: GaugeMetric] = [:]
    private var counters: [String: (metric: CounterMetric, last: UInt64)] = [:]

    private var latencies: [String: HistogramMetric] = [:]
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    init(registry: MetricsRegistry) { self.registry = registry }

    /// Records how long `request` took, when it is a publish or a fetch that did not fail.
    func observe(_ request: ClientRequest, _ reply: ClientReply, seconds: Double) {
        if case .failure = reply { return }
        let name: String, help: String, queue: QueueName
        switch request {
        case let .queuePublish(q, _):
            (name, help, queue) = ("chorus_queue_publish_seconds", "Publish requests taken here, until every message was committed.", q)
        case let .queueFetch(q, _, _, _, _, _):
            (name, help, queue) = ("chorus_queue_fetch_seconds", "Fetch requests taken here, the long-poll wait included.", q)
        default:
            return
        }
        let key = name + "|" + queue.text
        if latencies[key] == nil {
            latencies[key] = try? registry.histogram(name, help: help, buckets: QueueMetrics.latencyBuckets, labels: ["queue": queue.text])
        }
        latencies[key]?.observe(seconds)
    }

    func refresh(from host: ShardHost<ShardState>, nowMillis: UInt64) {
        for shard in host.ledShards {
            guard let partitions = host.machine(of: shard)?.queues.partitions, !partitions.isEmpty else { continue }
            for id in partitions.keys.sorted() {
                guard let s = partitions[id]?.stats else { continue }
                let labels = ["queue": id.queue.text, "partition": "\(id.index)"]
                gauge("chorus_queue_depth", "Messages ready, delayed or in flight.", labels, Double(s.ready + s.delayed + s.leased))
                gauge("chorus_queue_in_flight", "Messages leased to consumers.", labels, Double(s.leased))
                gauge("chorus_queue_dead_letters", "Dead letters held in the partition.", labels, Double(s.deadLetters))
                let age = s.oldestPublishedAtMillis.map { nowMillis > $0 ? Double(nowMillis - $0) / 1_000 : 0 } ?? 0
                gauge("chorus_queue_oldest_unacked_age_seconds", "Age of the oldest message still held.", labels, age)
                counter("chorus_queue_published_total", "Messages stored.", labels, s.counters.published)
                counter("chorus_queue_acked_total", "Messages acknowledged by consumers.", labels, s.counters.acked)
                counter("chorus_queue_redeliveries_total", "Deliveries after the first.", labels, s.counters.redeliveries)
                counter("chorus_queue_dead_lettered_total", "Messages that became dead letters.", labels, s.counters.deadLettered)
            }
        }
    }

    private func gauge(_ name: String, _ help: String, _ labels: [String: String], _ value: Double) {
        let key = name + "|" + labels["queue", default: ""] + "|" + labels["partition", default: ""]
        if gauges[key] == nil { gauges[key] = try? registry.gauge(name, help: help, labels: labels) }
        gauges[key]?.set(value)
    }

    private func counter(_ name: String, _ help: String, _ labels: [String: String], _ value: UInt64) {
        let key = name + "|" + labels["queue", default: ""] + "|" + labels["partition", default: ""]
        if counters[key] == nil, let metric = try? registry.counter(name, help: help, labels: labels) { counters[key] = (metric, 0) }
        guard let c = counters[key], value > c.last else { return }
        c.metric.increment(by: Double(value - c.last))
        counters[key] = (c.metric, value)
    }
}
