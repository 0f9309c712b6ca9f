import ChorusBase

/// Every tunable of the membership protocol, each with its default and where it comes from.
/// Invariant once `validate()` passes: every interval is positive and every count sensible.
public struct MembershipSettings: Sendable, Hashable {
    /// Cluster id carried in every packet; packets of another cluster are dropped.
    public var cluster: UInt32 = ClusterID.from(name: "chorus")

    /// SWIM protocol period: one probe per period (memberlist LAN: 1 s).
    public var probeInterval: Interval = .seconds(1)
    /// How probe failure is decided: phi accrual (default) or one fixed timeout
    /// (memberlist's 500 ms; kept to compare the two in the simulator).
    public var detector: FailureDetector = .phiAccrual
    /// Probe timeout used by `.fixed`, and by phi accrual before any response time is known.
    public var probeTimeout: Interval = .milliseconds(500)
    /// Phi accrual never gives up on a direct ping sooner than this: process scheduling on a
    /// busy host easily adds tens of milliseconds to a loopback RTT.
    public var minProbeTimeout: Interval = .milliseconds(100)
    /// Phi threshold at which a probe is considered failed (Akka and Cassandra use 8).
    public var phiThreshold: Double = 8
    /// Floor on the standard deviation of ln(response time): 0.25 means a timeout is never
    /// tighter than about 4× the typical response time at phi 8.
    public var phiMinStdDev: Double = 0.25
    /// Members asked to ping a target on our behalf when the direct ping fails (SWIM's k).
    public var indirectChecks: Int = 3

    /// Lifeguard local health multiplier ceiling (Lifeguard uses 8).
    public var maxLocalHealth: Int = 8

    /// Suspicion timeout minimum = multiplier × max(1, log10 N) × probe interval. Lifeguard's
    /// confirmations, and members verifying a suspicion with their own probe, let us use 1.5
    /// where memberlist uses 4: in the simulator, 600 s at 5% loss with 10, 50 and 200 nodes
    /// gave no false positive at 1.5 (bench notes in docs/performance.md).
    public var suspicionMultiplier: Double = 1.5
    /// Suspicion timeout maximum = this × minimum (memberlist: 6).
    public var suspicionMaxMultiplier: Double = 6
    /// Independent confirmations after which a suspicion runs for the minimum (Lifeguard K).
    public var suspicionConfirmations: Int = 2

    /// Gossip round interval and fanout (memberlist LAN: 200 ms, 3).
    public var gossipInterval: Interval = .milliseconds(200)
    public var gossipFanout: Int = 3
    /// Each update is sent at most multiplier × ceil(log10(N + 1)) times (memberlist: 4).
    public var retransmitMultiplier: Int = 4
    /// The same for news that a member joined (λ_join·⌈log10(N+1)⌉ transmissions, and at
    /// least 8 in clusters under 1,000): joins have a second path — a joiner's sync and the
    /// catch-up and routine syncs that follow — so they need less redundancy than
    /// suspicions and deaths, which race a timeout. In a bootstrap of N nodes every node
    /// sends every join this many times (N²·λ_join·⌈log10(N+1)⌉ updates in all), the bulk
    /// of all traffic; at 3,000 nodes λ_join = 1 converged sooner than 2, on 25 % less work.
    public var joinRetransmitMultiplier: Int = 1
    /// Dead members still receive gossip this long, so a member declared dead by mistake
    /// hears of it and refutes (memberlist: 30 s).
    public var gossipToTheDead: Interval = .seconds(30)
    /// Byte budget of one datagram (path MTU minus IP/UDP headers, memberlist uses 1400).
    public var datagramBudget: Int = 1400

    /// Routine anti-entropy (digest sync) interval. Memberlist syncs whole states every 30 s
    /// (stretched with N); a digest sync costs 8 bytes per 4 members when nothing differs,
    /// so Chorus can afford 10 s, which bounds how long a member missed by gossip stays
    /// unknown somewhere.
    public var pushPullInterval: Interval = .seconds(10)
    /// A sync that teaches a node members it did not know is followed by another one this
    /// soon (plus jitter), until a sync brings nothing new: a joining node learns of the
    /// nodes that joined after it this way, and a bootstrap or merge converges in a few
    /// sync rounds without gossiping every member to everyone again.
    public var joinCatchUp: Interval = .seconds(2)
    /// How often a node tries to reach one member it holds dead (not left), so that the two
    /// sides of a healed partition find each other again (serf's reconnect).
    public var reconnectInterval: Interval = .seconds(10)
    /// How long dead and left members are remembered, so stale gossip cannot revive them.
    public var tombstoneTimeout: Interval = .seconds(3600)

    /// Join: wait this long for a seed's answer, then retry with doubling backoff up to the cap.
    public var joinTimeout: Interval = .seconds(2)
    public var joinBackoffCap: Interval = .seconds(30)
    /// A leaving node keeps gossiping its `left` update at most this long before it reports
    /// that leaving is done.
    public var leaveTimeout: Interval = .seconds(2)

    /// Most ping-reqs this node relays at once; more are refused with a nack.
    public var maxRelays: Int = 256
    /// Most members (tombstones included) this node keeps; gossip or a sync naming more new
    /// members is ignored for them and counted, so a hostile peer cannot grow the table
    /// without bound (a stream frame alone could name 1.6 million).
    public var maxMembers: Int = 200_000

    public init() {}

    /// Refuses an invalid combination with a message naming the setting and the rule.
    public func validate() throws(SettingsError) {
        func positive(_ i: Interval, _ name: String) throws(SettingsError) {
            if i.nanoseconds <= 0 { throw SettingsError("\(name) must be positive, got \(i)") }
        }
        try positive(probeInterval, "probe_interval")
        try positive(probeTimeout, "probe_timeout")
        try positive(minProbeTimeout, "min_probe_timeout")
        try positive(gossipInterval, "gossip_interval")
        try positive(pushPullInterval, "push_pull_interval")
        try positive(joinTimeout, "join_timeout")
        try positive(tombstoneTimeout, "tombstone_timeout")
        if probeTimeout > probeInterval { throw SettingsError("probe_timeout (\(probeTimeout)) must not exceed probe_interval (\(probeInterval))") }
        if !(phiThreshold > 0 && phiThreshold < 300) { throw SettingsError("phi_threshold must be in (0, 300), got \(phiThreshold)") }
        if !(phiMinStdDev > 0 && phiMinStdDev < 10) { throw SettingsError("phi_min_stddev must be in (0, 10), got \(phiMinStdDev)") }
        if indirectChecks < 0 || indirectChecks > 16 { throw SettingsError("indirect_checks must be in 0...16, got \(indirectChecks)") }
        if gossipFanout < 1 || gossipFanout > 32 { throw SettingsError("gossip_fanout must be in 1...32, got \(gossipFanout)") }
        if retransmitMultiplier < 1 || retransmitMultiplier > 9 { throw SettingsError("retransmit_multiplier must be in 1...9, got \(retransmitMultiplier)") }
        if joinRetransmitMultiplier < 1 || joinRetransmitMultiplier > retransmitMultiplier {
            throw SettingsError("join_retransmit_multiplier must be in 1...retransmit_multiplier (\(retransmitMultiplier)), got \(joinRetransmitMultiplier)")
        }
        if !(suspicionMultiplier >= 0.5) { throw SettingsError("suspicion_multiplier must be at least 0.5, got \(suspicionMultiplier)") }
        if !(suspicionMaxMultiplier >= 1) { throw SettingsError("suspicion_max_multiplier must be at least 1, got \(suspicionMaxMultiplier)") }
        if datagramBudget < 512 || datagramBudget > 65_000 { throw SettingsError("datagram_budget must be in 512...65000, got \(datagramBudget)") }
        if maxMembers < 2 || maxMembers > 10_000_000 { throw SettingsError("max_members must be in 2...10000000, got \(maxMembers)") }
        if maxLocalHealth < 0 || maxLocalHealth > 32 { throw SettingsError("max_local_health must be in 0...32, got \(maxLocalHealth)") }
    }
}

/// How a probe's failure is decided.
public enum FailureDetector: Sendable, Hashable {
    /// Phi accrual over each member's response times (default).
    case phiAccrual
    /// One fixed direct-probe timeout (`probeTimeout`), as memberlist does.
    case fixedTimeout
}

/// A setting that failed validation; the message names it.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
