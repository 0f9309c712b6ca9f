import ChorusBase
import ChorusNode

/// A whole-node lock run: the cluster, the clients, the faults. Every field has a range it
/// is checked against (`validate`), so no scenario file can make the run trap or overflow.
public struct NodeLockSettings: Sendable, Codable, Equatable {
    public var name = "locks"
    public var nodes = 3
    public var shards = 4
    public var seed: UInt64 = 1
    /// Simulated seconds of workload (after a settling phase of `settleSeconds`).
    public var durationSeconds = 20.0
    public var settleSeconds = 3.0
    public var clients = 6
    /// Lock names the clients share (few names: contention).
    public var locks = 3
    public var ttlMillis: UInt64 = 2_000
    /// Share of acquires that ask for a shared lock.
    public var sharedFraction = 0.3
    public var maxWaitMillis: UInt64 = 1_500
    public var maxHoldMillis: UInt64 = 400
    /// Chance, per client step, that the client pauses for longer than its TTL.
    public var pauseProbability = 0.03
    /// Seconds between faults (a crash and restart, an isolated node, a one-way cut); 0: none.
    public var faultEverySeconds = 3.0
    public var loss = 0.01
    public var duplication = 0.01
    public var reorder = 0.05
    /// Largest clock-rate difference of a node from simulated time (0.005: ±0.5 %).
    public var clockDrift = 0.005
    /// Raft check-quorum (a leader cut off steps down); with it off a cut-off leader keeps
    /// believing it leads, the harshest case for the lease rules.
    public var checkQuorum = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case name, nodes, shards, seed, clients, locks, loss, duplication, reorder
        case durationSeconds = "duration_s", settleSeconds = "settle_s", ttlMillis = "ttl_ms", sharedFraction = "shared_fraction"
        case maxWaitMillis = "max_wait_ms", maxHoldMillis = "max_hold_ms", pauseProbability = "pause_probability"
        case faultEverySeconds = "fault_every_s", clockDrift = "clock_drift", checkQuorum = "check_quorum"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = NodeLockSettings.defaults
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        nodes = try c.decodeIfPresent(Int.self, forKey: .nodes) ?? d.nodes
        shards = try c.decodeIfPresent(Int.self, forKey: .shards) ?? d.shards
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        durationSeconds = try c.decodeIfPresent(Double.self, forKey: .durationSeconds) ?? d.durationSeconds
        settleSeconds = try c.decodeIfPresent(Double.self, forKey: .settleSeconds) ?? d.settleSeconds
        clients = try c.decodeIfPresent(Int.self, forKey: .clients) ?? d.clients
        locks = try c.decodeIfPresent(Int.self, forKey: .locks) ?? d.locks
        ttlMillis = try c.decodeIfPresent(UInt64.self, forKey: .ttlMillis) ?? d.ttlMillis
        sharedFraction = try c.decodeIfPresent(Double.self, forKey: .sharedFraction) ?? d.sharedFraction
        maxWaitMillis = try c.decodeIfPresent(UInt64.self, forKey: .maxWaitMillis) ?? d.maxWaitMillis
        maxHoldMillis = try c.decodeIfPresent(UInt64.self, forKey: .maxHoldMillis) ?? d.maxHoldMillis
        pauseProbability = try c.decodeIfPresent(Double.self, forKey: .pauseProbability) ?? d.pauseProbability
        faultEverySeconds = try c.decodeIfPresent(Double.self, forKey: .faultEverySeconds) ?? d.faultEverySeconds
        loss = try c.decodeIfPresent(Double.self, forKey: .loss) ?? d.loss
        duplication = try c.decodeIfPresent(Double.self, forKey: .duplication) ?? d.duplication
        reorder = try c.decodeIfPresent(Double.self, forKey: .reorder) ?? d.reorder
        clockDrift = try c.decodeIfPresent(Double.self, forKey: .clockDrift) ?? d.clockDrift
        checkQuorum = try c.decodeIfPresent(Bool.self, forKey: .checkQuorum) ?? d.checkQuorum
    }

    static let defaults = NodeLockSettings()

    public func validate() throws(SimSettingError) {
        func check(_ ok: Bool, _ message: String) throws(SimSettingError) { if !ok { throw SimSettingError(field: "", message: message) } }
        try check(nodes >= 3 && nodes <= 9, "nodes must be in 3...9, got \(nodes)")
        try check(shards >= 1 && shards <= 64, "shards must be in 1...64, got \(shards)")
        try check(durationSeconds > 0 && durationSeconds <= 3_600, "duration_s must be in (0, 3600], got \(durationSeconds)")
        try check(settleSeconds >= 0 && settleSeconds <= 60, "settle_s must be in [0, 60], got \(settleSeconds)")
        try check(clients >= 1 && clients <= 200, "clients must be in 1...200, got \(clients)")
        try check(locks >= 1 && locks <= 1_000, "locks must be in 1...1000, got \(locks)")
        try check(ttlMillis >= 1_000 && ttlMillis <= 60_000, "ttl_ms must be in 1000...60000, got \(ttlMillis)")
        try check(maxWaitMillis <= 60_000, "max_wait_ms must be at most 60000, got \(maxWaitMillis)")
        try check(maxHoldMillis >= 1 && maxHoldMillis <= 60_000, "max_hold_ms must be in 1...60000, got \(maxHoldMillis)")
        try check(faultEverySeconds == 0 || (faultEverySeconds >= 0.5 && faultEverySeconds <= 3_600),
                  "fault_every_s must be 0 or in [0.5, 3600], got \(faultEverySeconds)")
        for (key, p) in [("shared_fraction", sharedFraction), ("pause_probability", pauseProbability), ("loss", loss),
                         ("duplication", duplication), ("reorder", reorder)] {
            try check(p >= 0 && p <= 1, "\(key) must be a probability in [0, 1], got \(p)")
        }
        try check(loss <= 0.5, "loss above 0.5 leaves nothing to test, got \(loss)")
        try check(clockDrift >= 0 && clockDrift <= 0.01, "clock_drift must be in [0, 0.01] (the lease drift allowance covers 1 %), got \(clockDrift)")
    }

    /// The command that replays this run.
    public var replayCommand: String {
        "chorus sim --workload locks --seed \(seed) --nodes \(nodes) --duration \(durationSeconds) --clients \(clients)"
            + " --loss \(loss) --duplication \(duplication) --reorder \(reorder)" + (checkQuorum ? "" : " --no-check-quorum") + " --json"
    }
}
