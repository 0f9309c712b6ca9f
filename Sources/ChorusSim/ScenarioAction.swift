import ChorusBase

/// Something a scenario does to the cluster or the network.
///
/// Invariant (checked by `Scenario.validate()`): every node id named is in range, groups do
/// not overlap, and values lie in their domains. Each action's JSON form is
/// `{"at": seconds, "kind": …, …}`; see `Scenario` for the list.
public enum ScenarioAction: Sendable, Equatable {
    /// The nodes stop abruptly (no goodbye); their state is lost except what they persisted.
    case crash(NodeSelection)
    /// Crashed nodes start again.
    case restart(NodeSelection)
    /// The nodes leave gracefully, announcing it.
    case leave(NodeSelection)
    /// Replaces the network's split with these groups; unlisted nodes form one more group.
    case partition(groups: [[SimNodeID]])
    /// Blocks `from → to` only (a one-way cut), in addition to what is already cut.
    case cut(from: [SimNodeID], to: [SimNodeID])
    /// Removes every partition and cut.
    case heal
    /// Overloads the nodes: `extraLatency` on everything they send and receive, until
    /// `until` seconds (nil: to the end of the run).
    case slow(NodeSelection, extraLatency: Interval, until: Double?)
    /// Sets the datagram loss probability from now on.
    case loss(Double)

    static let kinds = ["crash", "restart", "leave", "partition", "cut", "heal", "slow", "loss"]

    var kind: String {
        switch self {
        case .crash: "crash"
        case .restart: "restart"
        case .leave: "leave"
        case .partition: "partition"
        case .cut: "cut"
        case .heal: "heal"
        case .slow: "slow"
        case .loss: "loss"
        }
    }
}

/// A scenario action and the simulated second it happens at.
///
/// Invariant: `at` lies within the run (checked by `Scenario.validate()`); actions with equal
/// `at` apply in file order.
public struct TimedAction: Sendable, Equatable, Codable {
    public var at: Double
    public var action: ScenarioAction

    public init(at: Double, _ action: ScenarioAction) {
        self.at = at
        self.action = action
    }

    /// `at` on the simulation's clock (time zero is the start of the run).
    public var time: Instant { Instant.zero + Interval(seconds: at) }

    public init(from decoder: any Decoder) throws {
        let all = ["at", "kind", "nodes", "fraction", "groups", "from", "to", "extra_latency_ms", "until", "value"]
        let fields = try ScenarioFields(decoder, allowed: all)
        let kind = try fields.required("kind", as: String.self)
        func only(_ keys: String...) throws { try fields.allowOnly(["at", "kind"] + keys, context: " for kind '\(kind)'") }
        func selection() throws -> NodeSelection {
            switch (fields.has("nodes"), fields.has("fraction")) {
            case (true, false):
                return .nodes(try fields.required("nodes", as: [SimNodeID].self))
            case (false, true):
                guard let fraction = try fields.probability("fraction") else {
                    throw SimSettingError(field: fields.field("fraction"), message: "must be a number in [0, 1]")
                }
                return .fraction(fraction)
            default:
                throw SimSettingError(field: fields.field("nodes"), message: "give exactly one of 'nodes' (a list of ids) or 'fraction'")
            }
        }
        guard let at = try fields.seconds("at") else { throw SimSettingError(field: fields.field("at"), message: "missing required field") }
        self.at = at
        switch kind {
        case "crash", "restart", "leave":
            try only("nodes", "fraction")
            let chosen = try selection()
            action = kind == "crash" ? .crash(chosen) : kind == "restart" ? .restart(chosen) : .leave(chosen)
        case "partition":
            try only("groups")
            action = .partition(groups: try fields.required("groups", as: [[SimNodeID]].self))
        case "cut":
            try only("from", "to")
            action = .cut(from: try fields.required("from", as: [SimNodeID].self), to: try fields.required("to", as: [SimNodeID].self))
        case "heal":
            try only()
            action = .heal
        case "slow":
            try only("nodes", "fraction", "extra_latency_ms", "until")
            action = .slow(try selection(), extraLatency: try fields.requiredMilliseconds("extra_latency_ms"), until: try fields.seconds("until"))
        case "loss":
            try only("value")
            guard let value = try fields.probability("value") else { throw SimSettingError(field: fields.field("value"), message: "missing required field") }
            action = .loss(value)
        default:
            throw SimSettingError(field: fields.field("kind"),
                                  message: "unknown action kind '\(kind)' (expected one of: \(ScenarioAction.kinds.joined(separator: ", ")))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(at, forKey: JSONKey("at"))
        try container.encode(action.kind, forKey: JSONKey("kind"))
        func encode(_ selection: NodeSelection) throws {
            switch selection {
            case .nodes(let nodes): try container.encode(nodes, forKey: JSONKey("nodes"))
            case .fraction(let fraction): try container.encode(fraction, forKey: JSONKey("fraction"))
            }
        }
        switch action {
        case .crash(let selection), .restart(let selection), .leave(let selection):
            try encode(selection)
        case .partition(let groups):
            try container.encode(groups, forKey: JSONKey("groups"))
        case .cut(let from, let to):
            try container.encode(from, forKey: JSONKey("from"))
            try container.encode(to, forKey: JSONKey("to"))
        case .heal:
            break
        case .slow(let selection, let extraLatency, let until):
            try encode(selection)
            try container.encode(extraLatency.milliseconds, forKey: JSONKey("extra_latency_ms"))
            try container.encodeIfPresent(until, forKey: JSONKey("until"))
        case .loss(let value):
            try container.encode(value, forKey: JSONKey("value"))
        }
    }
}
