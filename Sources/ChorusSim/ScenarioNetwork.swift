import ChorusBase

/// The `network` section of a scenario: the initial network conditions.
///
/// Invariant: once decoded, `latency` is a valid model and `loss`, `duplication` and
/// `reorder` are probabilities in `[0, 1]`, so `model` always passes `NetworkModel.validate()`.
public struct ScenarioNetwork: Sendable, Equatable, Codable {
    public var latency: LatencyModel
    public var loss: Double
    public var duplication: Double
    public var reorder: Double
    /// The largest reordering delay (`reorder_span_ms`, default 20 ms as in `NetworkModel`).
    public var reorderSpan: Interval

    public init(latency: LatencyModel = .constant(.milliseconds(1)), loss: Double = 0, duplication: Double = 0,
                reorder: Double = 0, reorderSpan: Interval = .milliseconds(20)) {
        self.latency = latency
        self.loss = loss
        self.duplication = duplication
        self.reorder = reorder
        self.reorderSpan = reorderSpan
    }

    /// The network model a run starts with.
    public var model: NetworkModel {
        NetworkModel(latency: latency, loss: loss, duplication: duplication, reorder: reorder, reorderSpan: reorderSpan)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try ScenarioFields(decoder, allowed: ["latency", "loss", "duplication", "reorder", "reorder_span_ms"])
        let defaults = ScenarioNetwork()
        latency = try fields.optional("latency", as: LatencyModel.self) ?? defaults.latency
        loss = try fields.probability("loss") ?? defaults.loss
        duplication = try fields.probability("duplication") ?? defaults.duplication
        reorder = try fields.probability("reorder") ?? defaults.reorder
        reorderSpan = try fields.milliseconds("reorder_span_ms") ?? defaults.reorderSpan
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(latency, forKey: JSONKey("latency"))
        try container.encode(loss, forKey: JSONKey("loss"))
        try container.encode(duplication, forKey: JSONKey("duplication"))
        try container.encode(reorder, forKey: JSONKey("reorder"))
        try container.encode(reorderSpan.milliseconds, forKey: JSONKey("reorder_span_ms"))
    }
}
