import ChorusBase
import ChorusMembership

/// The protocol tunables an operator may set in a config file, each mapped to one
/// `MembershipSettings` field; the same names appear in `GET /v1/info`.
///
/// Invariant: every case reads and writes exactly one field; `apply` refuses a value of the
/// wrong type or sign with a message naming the key, and the combination is then checked by
/// `MembershipSettings.validate()`. Intervals are in milliseconds (fractions allowed) and
/// must be positive.
public enum ProtocolSettingKey: String, CaseIterable, Sendable {
    case probeInterval = "probe_interval_ms"
    case probeTimeout = "probe_timeout_ms"
    case minProbeTimeout = "min_probe_timeout_ms"
    case detector = "detector"
    case phiThreshold = "phi_threshold"
    case phiMinStdDev = "phi_min_stddev"
    case indirectChecks = "indirect_checks"
    case maxLocalHealth = "max_local_health"
    case suspicionMultiplier = "suspicion_multiplier"
    case suspicionMaxMultiplier = "suspicion_max_multiplier"
    case suspicionConfirmations = "suspicion_confirmations"
    case gossipInterval = "gossip_interval_ms"
    case gossipFanout = "gossip_fanout"
    case retransmitMultiplier = "retransmit_multiplier"
    case joinRetransmitMultiplier = "join_retransmit_multiplier"
    case gossipToTheDead = "gossip_to_the_dead_ms"
    case datagramBudget = "datagram_budget"
    case pushPullInterval = "push_pull_interval_ms"
    case joinCatchUp = "join_catch_up_ms"
    case reconnectInterval = "reconnect_interval_ms"
    case tombstoneTimeout = "tombstone_timeout_ms"
    case joinTimeout = "join_timeout_ms"
    case joinBackoffCap = "join_backoff_cap_ms"
    case leaveTimeout = "leave_timeout_ms"
    case maxRelays = "max_relays"
    case maxMembers = "max_members"

    private enum Kind { case milliseconds, double, integer, detector }

    private var kind: Kind {
        switch self {
        case .probeInterval, .probeTimeout, .minProbeTimeout, .gossipInterval, .gossipToTheDead, .pushPullInterval,
             .joinCatchUp, .reconnectInterval, .tombstoneTimeout, .joinTimeout, .joinBackoffCap, .leaveTimeout:
            return .milliseconds
        case .phiThreshold, .phiMinStdDev, .suspicionMultiplier, .suspicionMaxMultiplier:
            return .double
        case .indirectChecks, .maxLocalHealth, .suspicionConfirmations, .gossipFanout, .retransmitMultiplier,
             .joinRetransmitMultiplier, .datagramBudget, .maxRelays, .maxMembers:
            return .integer
        case .detector:
            return .detector
        }
    }

    private var interval: WritableKeyPath<MembershipSettings, Interval>? {
        switch self {
        case .probeInterval: return \.probeInterval
        case .probeTimeout: return \.probeTimeout
        case .minProbeTimeout: return \.minProbeTimeout
        case .gossipInterval: return \.gossipInterval
        case .gossipToTheDead: return \.gossipToTheDead
        case .pushPullInterval: return \.pushPullInterval
        case .joinCatchUp: return \.joinCatchUp
        case .reconnectInterval: return \.reconnectInterval
        case .tombstoneTimeout: return \.tombstoneTimeout
        case .joinTimeout: return \.joinTimeout
        case .joinBackoffCap: return \.joinBackoffCap
        case .leaveTimeout: return \.leaveTimeout
        default: return nil
        }
    }

    private var double: WritableKeyPath<MembershipSettings, Double>? {
        switch self {
        case .phiThreshold: return \.phiThreshold
        case .phiMinStdDev: return \.phiMinStdDev
        case .suspicionMultiplier: return \.suspicionMultiplier
        case .suspicionMaxMultiplier: return \.suspicionMaxMultiplier
        default: return nil
        }
    }

    private var integer: WritableKeyPath<MembershipSettings, Int>? {
        switch self {
        case .indirectChecks: return \.indirectChecks
        case .maxLocalHealth: return \.maxLocalHealth
        case .suspicionConfirmations: return \.suspicionConfirmations
        case .gossipFanout: return \.gossipFanout
        case .retransmitMultiplier: return \.retransmitMultiplier
        case .joinRetransmitMultiplier: return \.joinRetransmitMultiplier
        case .datagramBudget: return \.datagramBudget
        case .maxRelays: return \.maxRelays
        case .maxMembers: return \.maxMembers
        default: return nil
        }
    }

    /// Sets this key's field from a JSON value.
    public func apply(_ value: JSONValue, to settings: inout MembershipSettings) throws(ProtocolSettingError) {
        switch kind {
        case .milliseconds:
            guard let ms = value.doubleValue, ms > 0, ms < 1e12, let path = interval else {
                throw ProtocolSettingError(key: rawValue, rule: "must be a positive number of milliseconds, got \(value.brief)")
            }
            settings[keyPath: path] = Interval(nanoseconds: Int64((ms * 1e6).rounded()))
        case .double:
            guard let d = value.doubleValue, let path = double else {
                throw ProtocolSettingError(key: rawValue, rule: "must be a number, got \(value.brief)")
            }
            settings[keyPath: path] = d
        case .integer:
            guard let i = value.intValue, i >= 0, let path = integer else {
                throw ProtocolSettingError(key: rawValue, rule: "must be a non-negative integer, got \(value.brief)")
            }
            settings[keyPath: path] = i
        case .detector:
            switch value.stringValue {
            case "phi": settings.detector = .phiAccrual
            case "fixed": settings.detector = .fixedTimeout
            default: throw ProtocolSettingError(key: rawValue, rule: "must be \"phi\" or \"fixed\", got \(value.brief)")
            }
        }
    }

    /// This key's current value, as JSON-ready `Int`, `Double` or `String`.
    public func value(in settings: MembershipSettings) -> Any {
        if let path = interval { return settings[keyPath: path].milliseconds }
        if let path = double { return settings[keyPath: path] }
        if let path = integer { return settings[keyPath: path] }
        switch settings.detector {
        case .phiAccrual: return "phi"
        case .fixedTimeout: return "fixed"
        }
    }
}

/// A protocol setting with a value of the wrong type or sign. Invariant: names the key.
public struct ProtocolSettingError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let rule: String
    public var description: String { "\(key) \(rule)" }
}

extension JSONValue {
    /// A short rendering for error messages.
    public var brief: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .integer(i): return String(i)
        case let .number(d): return String(d)
        case let .string(s): return "\"\(s.prefix(40))\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
