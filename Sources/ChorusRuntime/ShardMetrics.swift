import ChorusShards

/// The shard (Raft) metrics of one agent in its registry: gauges read from the host,
/// counters following the host's counters, and commit and fsync latency histograms.
/// Invariant: every counter only grows, by exactly what the host counted since the last refresh.
final class ShardMetrics {
    private let leaders: GaugeMetric
    private let replicas: GaugeMetric
    private let voting: GaugeMetric
    private let quiescent: GaugeMetric
    private let elections: CounterMetric
    private let campaigns: CounterMetric
    private let proposals: CounterMetric
    private let applied: CounterMetric
    private let snapshotsSent: CounterMetric
    private let snapshotsTaken: CounterMetric
    private let snapshotsStreamed: CounterMetric
    private let snapshotHeldSending: GaugeMetric
    private let snapshotHeldReceiving: GaugeMetric
    private let reconfigurations: CounterMetric
    private let duplicates: CounterMetric
    private let batchesOtherEpoch: CounterMetric
    private let batchesMalformed: CounterMetric
    let commitLatency: HistogramMetric
    let fsyncLatency: HistogramMetric
    private var last = ShardHostCounters()

    static let latencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]

    init(registry: MetricsRegistry) {
        func counter(_ name: String, _ help: String) -> CounterMetric {
            do { return try registry.counter(name, help: help) } catch { preconditionFailure("metric \(name): \(error)") }
        }
        func gauge(_ name: String, _ help: String) -> GaugeMetric {
            do { return try registry.gauge(name, help: help) } catch { preconditionFailure("metric \(name): \(error)") }
        }
        func histogram(_ name: String, _ help: String) -> HistogramMetric {
            do { return try registry.histogram(name, help: help, buckets: ShardMetrics.latencyBuckets) } catch { preconditionFailure("metric \(name): \(error)") }
        }
        leaders = gauge("chorus_raft_leaders", "Shard groups this node leads.")
        replicas = gauge("chorus_raft_replicas", "Shard group replicas hosted on this node.")
        quiescent = gauge("chorus_raft_quiescent_replicas", "Hosted replicas whose idle group is quiescent (not ticked, no heartbeats).")
        voting = gauge("chorus_raft_voting_replicas", "Hosted replicas that vote in their group.")
        elections = counter("chorus_raft_elections_won_total", "Elections this node won, over all its groups.")
        campaigns = counter("chorus_raft_campaigns_total", "Elections this node started, over all its groups.")
        proposals = counter("chorus_raft_proposals_total", "Commands proposed to groups this node leads.")
        applied = counter("chorus_raft_applied_total", "Commands applied, over all hosted groups.")
        snapshotsSent = counter("chorus_raft_snapshots_sent_total", "Snapshots sent to lagging or new members.")
        snapshotsTaken = counter("chorus_raft_snapshots_taken_total", "Local snapshots taken (log compactions).")
        snapshotsStreamed = counter("chorus_raft_snapshots_streamed_total", "Snapshots sent as a records image followed by bodies read from the queue body logs.")
        snapshotHeldSending = gauge("chorus_raft_snapshot_bytes_held_sending_max", "Most bytes of a snapshot one sending transfer held in memory.")
        snapshotHeldReceiving = gauge("chorus_raft_snapshot_bytes_held_receiving_max", "Most bytes of a snapshot one receiving transfer held in memory at once.")
        reconfigurations = counter("chorus_raft_configuration_changes_total", "Membership changes and leadership transfers started to follow placement.")
        duplicates = counter("chorus_raft_duplicates_suppressed_total", "Retried requests answered from the request ledger instead of applied twice.")
        batchesOtherEpoch = counter("chorus_raft_batches_foreign_total", "Shard batches dropped because they came from another shard set.")
        batchesMalformed = counter("chorus_raft_batches_malformed_total", "Shard batches that could not be decoded.")
        commitLatency = histogram("chorus_raft_commit_latency_seconds", "From proposal to applied reply, on the leader.")
        fsyncLatency = histogram("chorus_raft_fsync_latency_seconds", "One group-commit fsync of the shared shard log.")
    }

    func malformedBatch() { batchesMalformed.increment() }

    func refresh(from host: ShardHost<ShardState>) {
        let c = host.counters
        leaders.set(Double(host.leadersHeld))
        replicas.set(Double(host.order.count))
        voting.set(Double(host.votingShards.count))
        quiescent.set(Double(host.quiescentCount))
        func grow(_ metric: CounterMetric, _ now: Int, _ before: Int) { if now > before { metric.increment(by: Double(now - before)) } }
        grow(elections, c.electionsWon, last.electionsWon)
        grow(campaigns, c.campaigns, last.campaigns)
        grow(proposals, c.proposals, last.proposals)
        grow(applied, c.applied, last.applied)
        grow(snapshotsSent, c.snapshotsSent, last.snapshotsSent)
        grow(snapshotsTaken, c.snapshotsTaken, last.snapshotsTaken)
        grow(snapshotsStreamed, c.snapshotsStreamed, last.snapshotsStreamed)
        snapshotHeldSending.set(Double(c.snapshotBytesHeldSending))
        snapshotHeldReceiving.set(Double(c.snapshotBytesHeldReceiving))
        grow(reconfigurations, c.reconfigurations, last.reconfigurations)
        grow(duplicates, c.duplicatesSuppressed, last.duplicatesSuppressed)
        grow(batchesOtherEpoch, c.batchesOtherEpoch, last.batchesOtherEpoch)
        last = c
    }
}
