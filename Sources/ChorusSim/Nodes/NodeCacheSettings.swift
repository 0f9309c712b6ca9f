import ChorusBase
import ChorusNode

/// A whole-node cache run: the cluster, the clients and their keyspace, the faults. Every
/// field has a range it is checked against (`validate`), so no caller can make the run trap.
public struct NodeCacheSettings: Sendable, Equatable {
    public var nodes = 3
    public var shards = 2
    /// Keys the clients share (small, so copies are shared and invalidated often).
    public var keys = 4
    public var seed: UInt64 = 1
    /// Simulated seconds of workload with faults, then `quietSeconds` without faults in which
    /// every node must read every key successfully (liveness).
    public var durationSeconds = 5.0
    public var quietSeconds = 12.0
    public var clients = 6
    /// Share of operations that write, and of writes that delete.
    public var writeRatio = 0.3
    public var deleteRatio = 0.1
    /// Share of operations that increment the one counter key (`counter`) instead.
    public var incrementRatio = 0.1
    /// Share of reads made first from the node's `LocalCopyMirror`, as an embedding reads
    /// (a function call, no message); a miss goes to the node as an ordinary read.
    public var embeddedReadRatio = 0.3
    /// Seconds between faults (a crash and restart, or an isolated node); 0: none.
    public var faultEverySeconds = 2.0
    public var loss = 0.02
    public var duplication = 0.02
    public var reorder = 0.05

    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw NodeCacheSettingsError(message: what) } }
        try check((3...7).contains(nodes), "nodes must be 3...7")
        try check((1...64).contains(shards), "shards must be 1...64")
        try check((1...64).contains(keys), "keys must be 1...64")
        try check((1...64).contains(clients), "clients must be 1...64")
        try check(durationSeconds >= 0.5 && durationSeconds <= 600, "duration must be 0.5...600 s")
        try check(quietSeconds >= 5 && quietSeconds <= 600, "quiet must be 5...600 s")
        for p in [writeRatio, deleteRatio, incrementRatio, embeddedReadRatio] { try check(p >= 0 && p <= 1, "ratios must be 0...1") }
        for p in [loss, duplication, reorder] { try check(p >= 0 && p <= 0.5, "probabilities must be 0...0.5") }
        try check(faultEverySeconds == 0 || (faultEverySeconds >= 0.5 && faultEverySeconds <= 600), "fault interval must be 0 or 0.5...600 s")
    }

    /// Swift that replays this run exactly (every option that shapes it), for a failing seed.
    public var replayLine: String {
        "var s = NodeCacheSettings(); s.seed = \(seed); s.nodes = \(nodes); s.shards = \(shards); s.keys = \(keys); "
            + "s.clients = \(clients); s.incrementRatio = \(incrementRatio); s.embeddedReadRatio = \(embeddedReadRatio); s.durationSeconds = \(durationSeconds); s.faultEverySeconds = \(faultEverySeconds); "
            + "s.loss = \(loss); s.duplication = \(duplication); s.reorder = \(reorder); "
            + "try NodeCacheRun(settings: s, node: NodeCacheRun.nodeSettings(shards: \(shards))).run()"
    }
}

public struct NodeCacheSettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// What a whole-node cache run found.
public struct NodeCacheReport: Sendable {
    public var violations: [String] = []
    public var reads = 0
    public var writes = 0
    /// Increments acknowledged with their result, and those whose outcome stayed unknown.
    public var increments = 0
    public var unknownIncrements = 0
    /// Operations answered with a failure (unavailable, outcome unknown, no leader).
    public var failed = 0
    /// The first few failure answers, for the report.
    public var failures: [String] = []
    /// Reads answered from a local copy, summed over the nodes still running at the end.
    public var hits: UInt64 = 0
    /// Reads answered by a node's mirror of its copies (the embedding's function call).
    public var embeddedHits = 0
    public var invalidations: UInt64 = 0
    public var crashes = 0
    public var partitions = 0
    public var seed: UInt64 = 0
    public var passed: Bool { violations.isEmpty }
}
