import ChorusBase
import ChorusMembership
import ChorusNode

/// Why the agent dropped a packet; the `reason` label of `chorus_packets_dropped_total`.
/// Invariant: raw values are stable metric label values (renaming one breaks dashboards).
public enum DropReason: String, CaseIterable, Sendable {
    /// The bytes are not a packet (bad magic, version, truncated, trailing bytes...).
    case decodeError = "decode_error"
    /// A datagram above the agent's receive limit.
    case oversized
    /// A packet of another cluster (counted by the membership core).
    case wrongCluster = "wrong_cluster"
    /// Our own name as the sender: a reflection or a name clash (counted by the core).
    case ownName = "own_name"
    /// A ping for a name other than ours (counted by the core).
    case notForUs = "not_for_us"
    /// A ping-req refused because too many relays were running (counted by the core).
    case relayRefused = "relay_refused"
    /// A member update naming a new member while the table held `max_members` (counted by the core).
    case memberTableFull = "member_table_full"
    /// A peer stream ended in the middle of a frame.
    case truncatedFrame = "truncated_frame"
    /// A peer stream announced a frame above the limit.
    case oversizedFrame = "oversized_frame"
    /// An inbound peer stream arrived while the limit of open streams was reached.
    case streamLimit = "stream_limit"
    /// The socket reported an error while receiving.
    case receiveError = "receive_error"
}

/// The agent's Prometheus metrics: what the membership core counts (mirrored into the
/// registry before each scrape) and what the runtime counts itself (bytes, drops, stream and
/// HTTP problems).
///
/// Invariants: every metric name is fixed here and label values come from closed sets (message
/// kinds, statuses, drop reasons, HTTP error codes), so the series count is bounded; mirrored
/// counters only ever grow, because the core's counters only grow. Updated on the loop thread;
/// `render` may run anywhere.
final class AgentMetrics {
    let registry = MetricsRegistry()

    /// A registry counter that follows a cumulative count kept elsewhere.
    private struct Mirror {
        let counter: CounterMetric
        var seen = 0
        mutating func follow(_ value: Int) {
            if value > seen { counter.increment(by: Double(value - seen)); seen = value }
        }
    }

    private var sentMessages: [MessageKind: Mirror] = [:]
    private var receivedMessages: [MessageKind: Mirror] = [:]
    private var sentBytes: [MessageKind: CounterMetric] = [:]
    private var receivedBytes: [MessageKind: Mirror] = [:]
    private var dropped: [DropReason: CounterMetric] = [:]
    private var coreDrops: [DropReason: Mirror] = [:]
    private var probes: Mirror
    private var probesFailed: Mirror
    private var acks: Mirror
    private var nacksReceived: Mirror
    private var nacksSent: Mirror
    private var pingReqs: Mirror
    private var suspicionsRaised: Mirror
    private var suspicionsRefuted: Mirror
    private var refutations: Mirror
    private var deaths: Mirror
    private var streamProbes: Mirror
    private var streamProbeAnswers: Mirror
    private var updatesStreamed: Mirror
    private var updatesReceived: Mirror
    private var updatesApplied: Mirror
    private var updatesRefused: Mirror
    private var sealRefusals: [String: Mirror] = [:]
    private var members: [MemberStatus: GaugeMetric] = [:]
    private let healthMultiplier: GaugeMetric
    private let healthScore: GaugeMetric
    private let incarnation: GaugeMetric
    private let uptime: GaugeMetric
    private let streams: [String: GaugeMetric]
    private var events: [MemberEvent.Kind: CounterMetric] = [:]
    private let sendFailures: [String: CounterMetric]
    private let streamProblems: [String: CounterMetric]
    private var httpRefused: [String: CounterMetric] = [:]
    private var joinRetries: Mirror
    private let ringBuilds: CounterMetric
    private var roundTripCounts = [Int](repeating: 0, count: MembershipCounters.roundTripBounds.count + 1)
    private var roundTripSum = 0.0

    init() {
        let r = registry
        func counter(_ name: String, _ help: String, _ labels: [String: String] = [:]) -> CounterMetric {
            do { return try r.counter(name, help: help, labels: labels) } catch { preconditionFailure("metric \(name): \(error)") }
        }
        func gauge(_ name: String, _ help: String, _ labels: [String: String] = [:]) -> GaugeMetric {
            do { return try r.gauge(name, help: help, labels: labels) } catch { preconditionFailure("metric \(name): \(error)") }
        }
        let messagesHelp = "Membership messages by type and direction."
        let bytesHelp = "Bytes of membership packets (piggybacked gossip included) by message type and direction."
        for kind in MessageKind.allCases {
            sentMessages[kind] = Mirror(counter: counter("chorus_messages_total", messagesHelp, ["type": kind.rawValue, "direction": "sent"]))
            receivedMessages[kind] = Mirror(counter: counter("chorus_messages_total", messagesHelp, ["type": kind.rawValue, "direction": "received"]))
            sentBytes[kind] = counter("chorus_message_bytes_total", bytesHelp, ["type": kind.rawValue, "direction": "sent"])
            receivedBytes[kind] = Mirror(counter: counter("chorus_message_bytes_total", bytesHelp, ["type": kind.rawValue, "direction": "received"]))
        }
        let dropHelp = "Packets dropped by reason."
        for reason in DropReason.allCases {
            let c = counter("chorus_packets_dropped_total", dropHelp, ["reason": reason.rawValue])
            switch reason {
            case .wrongCluster, .ownName, .notForUs, .relayRefused, .memberTableFull, .decodeError: coreDrops[reason] = Mirror(counter: c)
            default: dropped[reason] = c
            }
        }
        probes = Mirror(counter: counter("chorus_probes_total", "Probes started (one per protocol period)."))
        probesFailed = Mirror(counter: counter("chorus_probes_failed_total", "Probes that got no ack, direct or relayed."))
        acks = Mirror(counter: counter("chorus_acks_total", "Acks received for this node's probes."))
        let nackHelp = "Lifeguard nacks by direction."
        nacksReceived = Mirror(counter: counter("chorus_nacks_total", nackHelp, ["direction": "received"]))
        nacksSent = Mirror(counter: counter("chorus_nacks_total", nackHelp, ["direction": "sent"]))
        pingReqs = Mirror(counter: counter("chorus_ping_reqs_sent_total", "Indirect probe requests sent."))
        suspicionsRaised = Mirror(counter: counter("chorus_suspicions_raised_total", "Suspicions this node raised after a failed probe."))
        suspicionsRefuted = Mirror(counter: counter("chorus_suspicions_refuted_total", "Suspicions about other members that ended with the member alive again."))
        refutations = Mirror(counter: counter("chorus_refutations_total", "Suspicions about this node that it refuted."))
        deaths = Mirror(counter: counter("chorus_deaths_declared_total", "Members this node declared dead."))
        let streamProbeHelp = "Fallback probes over the peer stream after a datagram probe timed out (sent), and those answered over the stream (answered)."
        streamProbes = Mirror(counter: counter("chorus_stream_probes_total", streamProbeHelp, ["result": "sent"]))
        streamProbeAnswers = Mirror(counter: counter("chorus_stream_probes_total", streamProbeHelp, ["result": "answered"]))
        updatesStreamed = Mirror(counter: counter("chorus_updates_streamed_total", "Member updates too large for any datagram, sent over the peer stream instead."))
        let updatesHelp = "Piggybacked member updates received, those that changed this node's view (applied), and those refused for an incarnation out of range (refused)."
        updatesReceived = Mirror(counter: counter("chorus_member_updates_total", updatesHelp, ["outcome": "received"]))
        updatesApplied = Mirror(counter: counter("chorus_member_updates_total", updatesHelp, ["outcome": "applied"]))
        updatesRefused = Mirror(counter: counter("chorus_member_updates_total", updatesHelp, ["outcome": "refused"]))
        for reason in AgentMetrics.sealRefusalReasons {
            sealRefusals[reason] = Mirror(counter: counter("chorus_seal_refused_total", "Datagrams and stream frames refused by the seal (wrong key, plaintext while required, replay window...), by reason.", ["reason": reason]))
        }
        for status in MemberStatus.allCases {
            members[status] = gauge("chorus_members", "Members known, by status (the local node included).", ["status": status.description])
        }
        healthMultiplier = gauge("chorus_local_health_multiplier", "Lifeguard local health multiplier (score + 1) stretching probe intervals and timeouts.")
        healthScore = gauge("chorus_local_health_score", "Lifeguard local health score (0 is healthy).")
        incarnation = gauge("chorus_incarnation", "This node's incarnation number.")
        uptime = gauge("chorus_uptime_seconds", "Seconds since the agent started.")
        let streamHelp = "Open peer TCP streams by direction."
        streams = ["inbound": gauge("chorus_peer_streams", streamHelp, ["direction": "inbound"]),
                   "outbound": gauge("chorus_peer_streams", streamHelp, ["direction": "outbound"])]
        for kind in [MemberEvent.Kind.joined, .suspect, .alive, .dead, .left, .updated] {
            events[kind] = counter("chorus_member_events_total", "Changes of this node's view of members, by kind.", ["kind": kind.rawValue])
        }
        let sendHelp = "Packets that could not be sent, by transport."
        sendFailures = ["udp": counter("chorus_send_failures_total", sendHelp, ["transport": "udp"]),
                        "tcp": counter("chorus_send_failures_total", sendHelp, ["transport": "tcp"])]
        let problemHelp = "Peer streams that failed, by kind."
        streamProblems = ["connect_failed": counter("chorus_peer_stream_failures_total", problemHelp, ["kind": "connect_failed"]),
                          "closed_with_error": counter("chorus_peer_stream_failures_total", problemHelp, ["kind": "closed_with_error"])]
        for code in AgentMetrics.httpRefusalCodes {
            httpRefused[code] = counter("chorus_http_requests_refused_total", "HTTP requests refused before reaching a handler (malformed, too large, too slow), by error code.", ["code": code])
        }
        joinRetries = Mirror(counter: counter("chorus_join_retries_total", "Join attempts that got no answer from any seed and were retried."))
        ringBuilds = counter("chorus_ring_builds_total", "Rings computed from the membership view for GET /v1/ring; a cached ring serves until the members on the ring change.")
    }

    /// The error codes the HTTP server refuses requests with; others are counted as `other`.
    static let httpRefusalCodes = ["bad_request", "request_timeout", "body_too_large", "headers_too_large",
                                   "length_required", "expectation_failed", "version_not_supported",
                                   "too_many_connections", "other"]

    /// The `reason` labels of `chorus_seal_refused_total` (`SealRefusal.reason`).
    static let sealRefusalReasons = ["plaintext", "malformed", "unknown_version", "no_keys", "no_key_opens", "replay_window"]

    /// Follows the seal's cumulative refusal counts.
    func followSealRefusals(_ counts: [String: Int]) {
        for (reason, n) in counts { sealRefusals[reason]?.follow(n) }
    }

    // MARK: runtime counts

    func sent(_ kind: MessageKind, bytes: Int) { sentBytes[kind]?.increment(by: Double(bytes)) }
    func dropped(_ reason: DropReason) { dropped[reason]?.increment() }
    func event(_ kind: MemberEvent.Kind) { events[kind]?.increment() }
    func sendFailed(transport: String) { sendFailures[transport]?.increment() }
    func streamProblem(_ kind: String) { streamProblems[kind]?.increment() }
    func ringBuilt() { ringBuilds.increment() }
    func httpRefused(code: String) { (httpRefused[code] ?? httpRefused["other"])?.increment() }

    /// The current count of a drop reason (runtime or mirrored), for tests and `info`.
    func droppedCount(_ reason: DropReason) -> Double {
        dropped[reason]?.value ?? coreDrops[reason]?.counter.value ?? 0
    }

    // MARK: scrape

    /// Copies the core's counts and the current gauges into the registry.
    func refresh(from membership: Membership, node: NodeCounters = NodeCounters(), uptime seconds: Double, inboundStreams: Int, outboundStreams: Int) {
        let c = membership.counters
        for kind in MessageKind.allCases {
            sentMessages[kind]?.follow(c.sent[kind] ?? 0)
            receivedMessages[kind]?.follow(c.received[kind] ?? 0)
        }
        for kind in MessageKind.allCases { receivedBytes[kind]?.follow(Int(clamping: node.packetBytesReceived[kind] ?? 0)) }
        coreDrops[.decodeError]?.follow(Int(clamping: node.malformedPackets))
        joinRetries.follow(Int(clamping: node.joinRetries))
        coreDrops[.wrongCluster]?.follow(c.droppedWrongCluster)
        coreDrops[.ownName]?.follow(c.droppedSelf)
        coreDrops[.notForUs]?.follow(c.droppedNotForUs)
        coreDrops[.relayRefused]?.follow(c.relaysRefused)
        coreDrops[.memberTableFull]?.follow(c.membersRefused)
        probes.follow(c.probes)
        probesFailed.follow(c.probesFailed)
        acks.follow(c.acks)
        nacksReceived.follow(c.nacksReceived)
        nacksSent.follow(c.nacksSent)
        pingReqs.follow(c.pingReqsSent)
        suspicionsRaised.follow(c.suspicionsRaised)
        suspicionsRefuted.follow(c.suspicionsRefuted)
        refutations.follow(c.refutations)
        deaths.follow(c.deathsDeclared)
        streamProbes.follow(c.streamProbes)
        streamProbeAnswers.follow(c.streamProbeAnswers)
        updatesStreamed.follow(c.updatesStreamed)
        updatesReceived.follow(c.updatesReceived)
        updatesApplied.follow(c.updatesApplied)
        updatesRefused.follow(c.updatesRefused)
        for status in MemberStatus.allCases { members[status]?.set(Double(membership.count(of: status))) }
        healthScore.set(Double(membership.localHealthScore))
        healthMultiplier.set(Double(membership.localHealthScore + 1))
        incarnation.set(Double(membership.incarnation))
        uptime.set(seconds)
        streams["inbound"]?.set(Double(inboundStreams))
        streams["outbound"]?.set(Double(outboundStreams))
        roundTripCounts = c.roundTripCounts
        roundTripSum = c.roundTripSum
    }

    /// The exposition text: the registry, then the probe round-trip histogram rendered from
    /// the core's own buckets (the registry cannot be fed pre-bucketed counts).
    func render() -> String {
        var out = registry.render()
        let name = "chorus_probe_rtt_seconds"
        out += "# HELP \(name) Round-trip time of successful direct probes (ping to ack).\n"
        out += "# TYPE \(name) histogram\n"
        var cumulative = 0
        for (i, bound) in MembershipCounters.roundTripBounds.enumerated() {
            cumulative += i < roundTripCounts.count ? roundTripCounts[i] : 0
            out += "\(name)_bucket{le=\"\(MetricsState.number(bound))\"} \(cumulative)\n"
        }
        let total = roundTripCounts.reduce(0, +)
        out += "\(name)_bucket{le=\"+Inf\"} \(total)\n"
        out += "\(name)_sum \(MetricsState.number(roundTripSum))\n"
        out += "\(name)_count \(total)\n"
        return out
    }
}
