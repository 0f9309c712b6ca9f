/// How the nodes of a scenario come together at the start of a run.
///
/// Invariant (checked by `Scenario.validate()`): `spreadSeconds` lies within the run, and in
/// `.seed` mode `seeds` is non-empty and names nodes of the run.
public struct ScenarioJoin: Sendable, Equatable, Codable {
    /// How much a node knows when it starts. Invariant: `rawValue` is the scenario-file spelling.
    public enum Mode: String, Sendable, Equatable, Codable, CaseIterable {
        /// Each node starts knowing only the seed nodes and joins through them.
        case seed
        /// Each node starts knowing every other node (a pre-formed cluster).
        case allKnown = "all_known"
    }

    public var mode: Mode
    /// Node starts are spread over this many seconds from time zero (0: all at once).
    public var spreadSeconds: Double
    /// The nodes others join through in `.seed` mode (default: node 0).
    public var seeds: [SimNodeID]

    public init(mode: Mode = .seed, spreadSeconds: Double = 0, seeds: [SimNodeID] = [SimNodeID(0)]) {
        self.mode = mode
        self.spreadSeconds = spreadSeconds
        self.seeds = seeds
    }

    public init(from decoder: any Decoder) throws {
        let fields = try ScenarioFields(decoder, allowed: ["mode", "spread_seconds", "seeds"])
        let defaults = ScenarioJoin()
        if let text = try fields.optional("mode", as: String.self) {
            guard let mode = Mode(rawValue: text) else {
                throw SimSettingError(field: fields.field("mode"),
                                      message: "unknown join mode '\(text)' (expected one of: \(Mode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.mode = mode
        } else {
            mode = defaults.mode
        }
        spreadSeconds = try fields.seconds("spread_seconds") ?? defaults.spreadSeconds
        seeds = try fields.optional("seeds", as: [SimNodeID].self) ?? defaults.seeds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(mode, forKey: JSONKey("mode"))
        try container.encode(spreadSeconds, forKey: JSONKey("spread_seconds"))
        try container.encode(seeds, forKey: JSONKey("seeds"))
    }
}
