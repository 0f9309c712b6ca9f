import ChorusBase
import Foundation

/// A simulation run described in a JSON file: how many nodes, for how long, with which seed,
/// over which network, how they join, and what happens to them when.
///
/// ```json
/// {
///   "name": "crash-tenth", "description": "10% of nodes crash at 30 s",
///   "nodes": 1000, "duration_seconds": 120, "seed": 42,
///   "network": {"latency": {"kind": "lognormal", "median_ms": 2, "sigma": 0.5, "base_ms": 0.2},
///               "loss": 0.01, "duplication": 0.001, "reorder": 0.01, "reorder_span_ms": 20},
///   "join": {"mode": "seed", "spread_seconds": 5, "seeds": [0]},
///   "actions": [
///     {"at": 30, "kind": "crash", "fraction": 0.1},
///     {"at": 40, "kind": "partition", "groups": [[0, 1, 2], [3, 4]]},
///     {"at": 45, "kind": "cut", "from": [5], "to": [6]},
///     {"at": 50, "kind": "heal"},
///     {"at": 60, "kind": "slow", "nodes": [7], "extra_latency_ms": 300, "until": 90},
///     {"at": 70, "kind": "loss", "value": 0.05},
///     {"at": 80, "kind": "restart", "nodes": [8]},
///     {"at": 100, "kind": "leave", "nodes": [9]}
///   ]
/// }
/// ```
/// Required: `name`, `nodes`, `duration_seconds`. Defaults: empty description, seed 1,
/// 1 ms constant latency without loss, seed-mode join through node 0 all at once, no actions.
///
/// Invariant: a `Scenario` obtained from `decode(data:)`, `load(path:)` or `JSONDecoder` has
/// passed `validate()`: node ids are in `0..<nodes`, times lie within the run, probabilities
/// in `[0, 1]`, partition groups do not overlap, at most `Partition.maximumCuts` cuts are in
/// force at once. Bad input of any kind is a thrown `SimSettingError` naming the field, never
/// a crash.
public struct Scenario: Sendable, Equatable, Codable {
    /// The largest cluster a scenario may ask for: the observer keeps one bit per pair of
    /// nodes (1.25 GB at 100,000; a million would need 125 GB before the first event), and
    /// the member tables 64 bytes per pair.
    public static let maximumNodes = 100_000

    public var name: String
    public var description: String
    public var nodes: Int
    public var durationSeconds: Double
    public var seed: UInt64
    public var network: ScenarioNetwork
    public var join: ScenarioJoin
    /// In file order; equal times apply in this order.
    public var actions: [TimedAction]

    public init(name: String, description: String = "", nodes: Int, durationSeconds: Double, seed: UInt64 = 1,
                network: ScenarioNetwork = ScenarioNetwork(), join: ScenarioJoin = ScenarioJoin(), actions: [TimedAction] = []) {
        self.name = name
        self.description = description
        self.nodes = nodes
        self.durationSeconds = durationSeconds
        self.seed = seed
        self.network = network
        self.join = join
        self.actions = actions
    }

    /// The run's length on the simulation clock.
    public var duration: Interval { Interval(seconds: durationSeconds) }

    /// The actions by time, ties in file order.
    public var actionsInTimeOrder: [TimedAction] {
        actions.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    // MARK: Loading

    /// Reads and validates a scenario file.
    public static func load(path: String) throws(SimSettingError) -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SimSettingError(field: "", message: "cannot read scenario file '\(path)': \(error.localizedDescription)")
        }
        do {
            return try decode(data: data)
        } catch {
            throw SimSettingError(field: error.field, message: "\(error.message) (in \(path))")
        }
    }

    /// Parses and validates a scenario from JSON bytes.
    public static func decode(data: Data) throws(SimSettingError) -> Scenario {
        do {
            return try JSONDecoder().decode(Scenario.self, from: data)
        } catch let error as SimSettingError {
            throw error
        } catch let error as DecodingError {
            throw SimSettingError(decoding: error)
        } catch {
            throw SimSettingError(field: "", message: "cannot decode scenario: \(error)")
        }
    }

    /// The scenario as pretty-printed JSON with sorted keys (stable bytes for the same value).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try ScenarioFields(decoder, allowed: ["name", "description", "nodes", "duration_seconds", "seed",
                                                           "network", "join", "actions"])
        name = try fields.required("name")
        description = try fields.optional("description") ?? ""
        guard let nodes = try fields.integer("nodes", as: Int.self) else {
            throw SimSettingError(field: "nodes", message: "missing required field")
        }
        self.nodes = nodes
        guard let duration = try fields.seconds("duration_seconds") else {
            throw SimSettingError(field: "duration_seconds", message: "missing required field")
        }
        durationSeconds = duration
        seed = try fields.integer("seed", as: UInt64.self) ?? 1
        network = try fields.optional("network") ?? ScenarioNetwork()
        join = try fields.optional("join") ?? ScenarioJoin()
        actions = try fields.optional("actions") ?? []
        try validate()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(name, forKey: JSONKey("name"))
        try container.encode(description, forKey: JSONKey("description"))
        try container.encode(nodes, forKey: JSONKey("nodes"))
        try container.encode(durationSeconds, forKey: JSONKey("duration_seconds"))
        try container.encode(seed, forKey: JSONKey("seed"))
        try container.encode(network, forKey: JSONKey("network"))
        try container.encode(join, forKey: JSONKey("join"))
        try container.encode(actions, forKey: JSONKey("actions"))
    }

    // MARK: Validation

    /// Throws on the first field that breaks a rule, naming it by its JSON path.
    public func validate() throws(SimSettingError) {
        try SimSettingError.require(!name.isEmpty, "name", "must not be empty")
        try SimSettingError.require(nodes >= 1 && nodes <= Scenario.maximumNodes, "nodes",
                                    "must be a whole number in 1...\(Scenario.maximumNodes) (got \(nodes))")
        try SimSettingError.require(durationSeconds > 0 && durationSeconds <= ScenarioFields.maximumSeconds, "duration_seconds",
                                    "must be a number of seconds in (0, \(Int(ScenarioFields.maximumSeconds))] (got \(durationSeconds))")
        try validateNetwork()
        try SimSettingError.require(join.spreadSeconds >= 0 && join.spreadSeconds <= durationSeconds, "join.spread_seconds",
                                    "must lie within the run, 0...\(durationSeconds) (got \(join.spreadSeconds))")
        if join.mode == .seed {
            try SimSettingError.require(!join.seeds.isEmpty, "join.seeds", "must name at least one node in seed mode")
        }
        try checkNodes(join.seeds, field: "join.seeds")

        var cutsInForce = 0
        let timeOrder = actions.indices.sorted { (actions[$0].at, $0) < (actions[$1].at, $1) }
        for index in timeOrder {
            let field = "actions[\(index)]"
            let timed = actions[index]
            try SimSettingError.require(timed.at >= 0 && timed.at <= durationSeconds, "\(field).at",
                                        "must lie within the run, 0...\(durationSeconds) (got \(timed.at))")
            switch timed.action {
            case .crash(let selection), .restart(let selection), .leave(let selection):
                try checkSelection(selection, field: field)
            case .partition(let groups):
                try SimSettingError.require(!groups.isEmpty, "\(field).groups", "must list at least one group")
                var seen = Set<SimNodeID>()
                for (number, group) in groups.enumerated() {
                    let groupField = "\(field).groups[\(number)]"
                    try SimSettingError.require(!group.isEmpty, groupField, "must not be empty")
                    try checkNodes(group, field: groupField)
                    for (position, node) in group.enumerated() {
                        try SimSettingError.require(seen.insert(node).inserted, "\(groupField)[\(position)]",
                                                    "node \(node.rawValue) is already in another group")
                    }
                }
            case .cut(let from, let to):
                for (name, list) in [("from", from), ("to", to)] {
                    try SimSettingError.require(!list.isEmpty, "\(field).\(name)", "must name at least one node")
                    try checkNodes(list, field: "\(field).\(name)")
                }
                cutsInForce += 1
                try SimSettingError.require(cutsInForce <= Partition.maximumCuts, field,
                                            "more than \(Partition.maximumCuts) one-way cuts in force at once (add a heal)")
            case .heal:
                cutsInForce = 0
            case .slow(let selection, let extraLatency, let until):
                try checkSelection(selection, field: field)
                try SimSettingError.require(extraLatency >= .zero, "\(field).extra_latency_ms", "must not be negative")
                if let until {
                    try SimSettingError.require(until > timed.at && until <= durationSeconds, "\(field).until",
                                                "must lie after 'at' (\(timed.at)) and within the run (\(durationSeconds)), got \(until)")
                }
            case .loss(let value):
                try SimSettingError.require(value >= 0 && value <= 1, "\(field).value", "must be a probability in [0, 1] (got \(value))")
            }
        }
    }

    private func validateNetwork() throws(SimSettingError) {
        do {
            try network.model.validate()
        } catch {
            // NetworkModel names its settings in Swift; name them as the file does.
            let jsonNames = ["network.reorderSpan": "network.reorder_span_ms"]
            throw SimSettingError(field: jsonNames[error.field] ?? error.field, message: error.message)
        }
    }

    private func checkSelection(_ selection: NodeSelection, field: String) throws(SimSettingError) {
        switch selection {
        case .nodes(let list):
            try SimSettingError.require(!list.isEmpty, "\(field).nodes", "must name at least one node")
            try checkNodes(list, field: "\(field).nodes")
        case .fraction(let fraction):
            try SimSettingError.require(fraction >= 0 && fraction <= 1, "\(field).fraction", "must be a number in [0, 1] (got \(fraction))")
        }
    }

    /// Every id in `0..<nodes`, none twice.
    private func checkNodes(_ list: [SimNodeID], field: String) throws(SimSettingError) {
        var seen = Set<SimNodeID>()
        for (position, node) in list.enumerated() {
            try SimSettingError.require(node.index >= 0 && node.index < nodes, "\(field)[\(position)]",
                                        "node id \(node.rawValue) is out of range 0..<\(nodes)")
            try SimSettingError.require(seen.insert(node).inserted, "\(field)[\(position)]", "node id \(node.rawValue) is listed twice")
        }
    }
}
