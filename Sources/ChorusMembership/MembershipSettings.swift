import ChorusBase

/// Every tunable of the membership protocol, each with its default and where it comes from.
/// Invariant once `validate()` passes: every value lies in the range `validate` names for
/// it, so no interval is zero or negative and no product of settings can overflow.
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
    /// When the direct ping fails, ping the target over the stream as well (memberlist's
    /// TCP fallback probe, on by default there too): a member whose datagrams are lost —
    /// a lossy or misconfigured UDP path — but whose process answers is not suspected.
    public var streamProbe = true

    /// Lifeguard local health multiplier ceiling (Lifeguard uses 8).
    public var maxLocalHealth: Int = 8

    /// Suspicion timeout minimum = multiplier × max(1, log10 N) × probe interval. 3, between
    /// memberlist's 4 and the 1.5 used before: a stop-the-world pause of P seconds (GC, VM
    /// migration, SIGSTOP) survives when the minimum exceeds P − (the earliest suspicion,
    /// about 0.3 s into it) + the refutation's spread (about 0.3 s). At 1.5 a 2 s pause
    /// could be declared dead in a small cluster once confirmations arrived; 3 survives it
    /// with about a second to spare at any size, since the minimum grows with log N. Loss
    /// no longer needs the wider margin memberlist keeps: the stream fallback probe and
    /// verification probes remove those false suspicions (0 false positives at 5% loss over
    /// 10 minutes at 100 and 1,000 nodes in the simulator). The price is detection time:
    /// at 2,000 nodes the median first detection went from 6.2 s to 11.2 s.
    public var suspicionMultiplier: Double = 3
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

    /// Refuses an invalid value with a message naming the setting and the rule. The ranges
    /// are wide for operators and narrow enough that no arithmetic on them can overflow:
    /// the largest product the protocol forms, the suspicion maximum
    /// (interval × multiplier × log10 of 10⁷ members × max multiplier), stays below 10¹⁸ ns.
    public func validate() throws(SettingsError) {
        typealias Rule = MembershipSettings.Range
        try Rule.interval(probeInterval, "probe_interval", .milliseconds(1), .seconds(3600))
        try Rule.interval(probeTimeout, "probe_timeout", .milliseconds(1), probeInterval)
        try Rule.interval(minProbeTimeout, "min_probe_timeout", .microseconds(1), .seconds(3600))
        try Rule.interval(gossipInterval, "gossip_interval", .milliseconds(1), .seconds(3600))
        try Rule.interval(gossipToTheDead, "gossip_to_the_dead", .zero, .seconds(86_400))
        try Rule.interval(pushPullInterval, "push_pull_interval", .milliseconds(10), .seconds(86_400))
        try Rule.interval(joinCatchUp, "join_catch_up", .milliseconds(1), .seconds(3600))
        try Rule.interval(reconnectInterval, "reconnect_interval", .milliseconds(10), .seconds(86_400))
        try Rule.interval(tombstoneTimeout, "tombstone_timeout", .seconds(1), .seconds(30 * 86_400))
        try Rule.interval(joinTimeout, "join_timeout", .milliseconds(1), .seconds(3600))
        try Rule.interval(joinBackoffCap, "join_backoff_cap", joinTimeout, .seconds(86_400))
        try Rule.interval(leaveTimeout, "leave_timeout", .milliseconds(1), .seconds(3600))
        try Rule.real(phiThreshold, "phi_threshold", above: 0, below: 300)
        try Rule.real(phiMinStdDev, "phi_min_stddev", above: 0, below: 10)
        try Rule.real(suspicionMultiplier, "suspicion_multiplier", from: 0.5, to: 100)
        try Rule.real(suspicionMaxMultiplier, "suspicion_max_multiplier", from: 1, to: 100)
        try Rule.count(indirectChecks, "indirect_checks", 0, 16)
        try Rule.count(suspicionConfirmations, "suspicion_confirmations", 0, 64)
        try Rule.count(gossipFanout, "gossip_fanout", 1, 32)
        try Rule.count(retransmitMultiplier, "retransmit_multiplier", 1, 9)
        try Rule.count(joinRetransmitMultiplier, "join_retransmit_multiplier", 1, retransmitMultiplier)
        try Rule.count(datagramBudget, "datagram_budget", 512, 65_000)
        try Rule.count(maxRelays, "max_relays", 0, 65_536)
        try Rule.count(maxMembers, "max_members", 2, 10_000_000)
        try Rule.count(maxLocalHealth, "max_local_health", 0, 32)
    }

    /// The range checks `validate` applies, each throwing a message with the setting's name.
    enum Range {
        static func interval(_ i: Interval, _ name: String, _ low: Interval, _ high: Interval) throws(SettingsError) {
            guard i >= low && i <= high else { throw SettingsError("\(name) must be in \(low)...\(high), got \(i)") }
        }
        static func real(_ x: Double, _ name: String, above low: Double, below high: Double) throws(SettingsError) {
            guard x > low && x < high else { throw SettingsError("\(name) must be in (\(low), \(high)), got \(x)") }
        }
        static func real(_ x: Double, _ name: String, from low: Double, to high: Double) throws(SettingsError) {
            guard x >= low && x <= high else { throw SettingsError("\(name) must be in \(low)...\(high), got \(x)") }
        }
        static func count(_ n: Int, _ name: String, _ low: Int, _ high: Int) throws(SettingsError) {
            guard n >= low && n <= high else { throw SettingsError("\(name) must be in \(low)...\(high), got \(n)") }
        }
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
