import ChorusBase
import ChorusShards

/// How a shard-cluster simulation runs. Invariant once `validate()` passes: sizes are
/// positive and the host settings are valid.
public struct ShardSimulationSettings: Sendable {
    public var nodes = 20
    public var shards = 64
    public var replicas = 3
    public var virtualNodesPerMember = 128
    public var seed: UInt64 = 1
    /// The host tick (the agent's, 50 ms).
    public var tick: Interval = .milliseconds(50)
    /// One-way latency between two nodes.
    public var latency: LatencyModel = .uniform(low: .microseconds(200), high: .milliseconds(2))
    /// How long the (simulated) membership layer takes to declare a crashed node dead and
    /// every node to learn it. Placement follows verdicts only after this.
    public var detectionDelay: Interval = .seconds(3)
    /// Time between two client writes.
    public var writeEvery: Interval = .milliseconds(20)
    /// Whether the key-value clients write at all (a run that plugs in another workload,
    /// such as the lock workload, may turn them off to stay short).
    public var kvWrites = true
    /// Longest a draining node waits for its replicas to move before it leaves anyway.
    public var drainTimeout: Interval = .seconds(60)
    public var host = ShardHostSettings()

    public init() {}
}
