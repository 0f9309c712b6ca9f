import ChorusBase
import ChorusNode

/// A whole-node queue run: the cluster, producers and consumers, the faults. Every field has a
/// range it is checked against (`validate`), so no caller can make the run trap.
public struct NodeQueueSettings: Sendable, Equatable {
    public var nodes = 3
    public var shards = 4
    public var partitions = 4
    public var seed: UInt64 = 1
    /// Simulated seconds of workload with faults, then up to `drainSeconds` without them in
    /// which the consumers must receive and ack every acknowledged publish.
    public var durationSeconds = 8.0
    public var drainSeconds = 30.0
    public var producers = 4
    public var consumers = 4
    public var maxBatch = 5
    public var visibilityMillis: UInt64 = 800
    /// Per delivery: chance the consumer nacks it, and chance it forgets it (the lease runs out).
    public var nackProbability = 0.05
    public var forgetProbability = 0.05
    /// Seconds between faults (crash and restart, an isolated node); 0: none.
    public var faultEverySeconds = 2.0
    public var loss = 0.01
    public var duplication = 0.01
    public var reorder = 0.05

    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw NodeQueueSettingsError(message: what) } }
        try check((3...7).contains(nodes), "nodes must be 3...7")
        try check((1...64).contains(shards), "shards must be 1...64")
        try check((1...64).contains(partitions), "partitions must be 1...64")
        try check(durationSeconds >= 0.5 && durationSeconds <= 600, "duration must be 0.5...600 s")
        try check(drainSeconds >= 1 && drainSeconds <= 600, "drain must be 1...600 s")
        try check((1...64).contains(producers) && (1...64).contains(consumers), "producers and consumers must be 1...64")
        try check((1...100).contains(maxBatch), "max batch must be 1...100")
        try check((100...60_000).contains(visibilityMillis), "visibility must be 100...60000 ms")
        for p in [nackProbability, forgetProbability, loss, duplication, reorder] { try check(p >= 0 && p <= 0.5, "probabilities must be 0...0.5") }
        try check(faultEverySeconds == 0 || (faultEverySeconds >= 0.5 && faultEverySeconds <= 600), "fault interval must be 0 or 0.5...600 s")
    }
}

public struct NodeQueueSettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// What a whole-node queue run found.
public struct NodeQueueReport: Sendable {
    public var violations: [String] = []
    public var acknowledgedPublishes = 0
    public var consumerAcks = 0
    public var deliveries = 0
    /// Deliveries of a message after its first (at-least-once: allowed, reported).
    public var duplicateDeliveries = 0
    /// Messages stored twice (a publish retried after its outcome was unknown, past dedup).
    public var storedTwice = 0
    public var crashes = 0
    public var partitions = 0
    public var seed: UInt64 = 0
    /// The last statistics of the drain phase, per partition (ready, delayed, leased, dead).
    public var lastStats = ""
    public var passed: Bool { violations.isEmpty }
}
