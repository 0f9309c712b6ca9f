import ChorusBase

/// One simulated run of the cache protocol: nodes, keys, clients, faults, seed. Every random
/// choice of the run comes from `seed`, so a config replays exactly.
public struct CacheSimConfig: Hashable, Sendable {
    public var seed: UInt64 = 1
    public var nodes = 4
    public var keys = 3
    public var clientsPerNode = 2
    /// Share of operations that write (the rest read).
    public var writeShare = 0.3
    /// How long clients start new operations; faults stop at the same time.
    public var activeFor: Interval = .milliseconds(800)
    /// Quiet time after `activeFor` in which every operation must end (liveness): several
    /// leases, a failover and a takeover quiet period.
    public var settleFor: Interval = .milliseconds(800)
    public var minDelay: Interval = .microseconds(200)
    public var maxDelay: Interval = .milliseconds(4)
    public var lossRate = 0.05
    public var duplicateRate = 0.05
    /// Time from a node's crash to the home hearing `memberDead`.
    public var detectDeadAfter: Interval = .milliseconds(60)
    /// Crashes of non-home nodes during the active phase; each restarts after `downFor`.
    public var crashes = 1
    public var downFor: Interval = .milliseconds(150)
    /// Crash the home right after the k-th write-through that revoked copies, dropping
    /// everything it still had in flight (its invalidations among them); nil: never.
    public var homeFailureAtWrite: Int? = 8
    /// Time from the home's crash to the new home starting and nodes hearing of it.
    public var failoverAfter: Interval = .milliseconds(80)
    public var durableDelay: Interval = .milliseconds(1)
    public var tickEvery: Interval = .milliseconds(5)
    /// End the run at the first violation (for hunting a planted bug quickly).
    public var stopAtFirstViolation = false
    public var settings: CacheSettings

    public init(seed: UInt64 = 1) {
        self.seed = seed
        var s = CacheSettings()
        s.lease = .milliseconds(200)
        s.retransmitAfter = .milliseconds(20)
        s.maxBytes = 4_096
        self.settings = s
    }
}

/// What a run found. `violations` is empty for a correct protocol.
public struct CacheSimReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var events = 0
    public var reads = 0
    public var writes = 0
    public var unknownWrites = 0
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var messages = 0
    public var crashes = 0
    public var homeFailures = 0
    /// FNV-1a over every delivered message and every completion with its time: the same
    /// config gives the same digest in any process.
    public var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    public var violations: [String] = []

    mutating func mix(_ bytes: [UInt8]) {
        for b in bytes { digest = (digest ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    mutating func mix(_ x: UInt64) {
        withUnsafeBytes(of: x.littleEndian) { for b in $0 { digest = (digest ^ UInt64(b)) &* 0x100_0000_01b3 } }
    }

    /// How to replay this run.
    public var replay: String { "CacheSimulation.run(CacheSimConfig(seed: \(seed)))" }

    public var description: String {
        "seed \(seed): \(events) events, \(reads) reads, \(writes) writes (\(unknownWrites) unknown), "
            + "hits \(hits) misses \(misses), \(messages) messages, \(crashes) crashes, \(homeFailures) home failures, "
            + "\(violations.count) violations, digest \(String(digest, radix: 16))"
            + (violations.first.map { "; first: \($0)" } ?? "")
    }
}
