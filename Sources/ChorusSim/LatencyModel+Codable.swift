import ChorusBase

/// The scenario-file form of a latency model, times in milliseconds:
/// `{"kind": "constant", "ms": 2}`, `{"kind": "uniform", "low_ms": 1, "high_ms": 5}`,
/// `{"kind": "normal", "mean_ms": 5, "stddev_ms": 1}`, `{"kind": "lognormal", "median_ms": 2,
/// "sigma": 0.5}`, `{"kind": "pareto", "minimum_ms": 1, "shape": 2}`, each with an optional
/// `"base_ms"` added to every sample. Decoding checks each parameter's domain and names it.
extension LatencyModel: Codable {
    static let kinds = ["constant", "uniform", "normal", "lognormal", "pareto"]

    public init(from decoder: any Decoder) throws {
        let fields = try ScenarioFields(decoder, allowed: ["kind", "ms", "low_ms", "high_ms", "mean_ms", "stddev_ms", "median_ms",
                                                           "sigma", "minimum_ms", "shape", "base_ms"])
        let kind = try fields.required("kind", as: String.self)
        func only(_ keys: String...) throws { try fields.allowOnly(["kind"] + keys + ["base_ms"], context: " for kind '\(kind)'") }
        let model: LatencyModel
        switch kind {
        case "constant":
            try only("ms")
            model = .constant(try fields.requiredMilliseconds("ms"))
        case "uniform":
            try only("low_ms", "high_ms")
            let low = try fields.requiredMilliseconds("low_ms"), high = try fields.requiredMilliseconds("high_ms")
            try SimSettingError.require(high >= low, fields.field("high_ms"), "must be at least low_ms (\(low.milliseconds))")
            model = .uniform(low: low, high: high)
        case "normal":
            try only("mean_ms", "stddev_ms")
            model = .normal(mean: try fields.requiredMilliseconds("mean_ms"), stddev: try fields.requiredMilliseconds("stddev_ms"))
        case "lognormal":
            try only("median_ms", "sigma")
            let sigma = try fields.required("sigma", as: Double.self)
            try SimSettingError.require(sigma >= 0 && sigma <= 10, fields.field("sigma"), "must be a number in 0...10 (got \(sigma))")
            model = .lognormal(median: try fields.requiredMilliseconds("median_ms"), sigma: sigma)
        case "pareto":
            try only("minimum_ms", "shape")
            let shape = try fields.required("shape", as: Double.self)
            try SimSettingError.require(shape > 0 && shape <= 1000, fields.field("shape"), "must be a number in (0, 1000] (got \(shape))")
            model = .pareto(minimum: try fields.requiredMilliseconds("minimum_ms"), shape: shape)
        default:
            throw SimSettingError(field: fields.field("kind"),
                                  message: "unknown latency kind '\(kind)' (expected one of: \(LatencyModel.kinds.joined(separator: ", ")))")
        }
        self = model.adding(base: try fields.milliseconds("base_ms") ?? .zero)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        func ms(_ value: Interval, _ key: String) throws { try container.encode(value.milliseconds, forKey: JSONKey(key)) }
        var base = Interval.zero
        var model = self
        while case .shifted(let extra, let inner) = model {
            base = base + extra
            model = inner
        }
        switch model {
        case .constant(let delay):
            try container.encode("constant", forKey: JSONKey("kind"))
            try ms(delay, "ms")
        case .uniform(let low, let high):
            try container.encode("uniform", forKey: JSONKey("kind"))
            try ms(low, "low_ms")
            try ms(high, "high_ms")
        case .normal(let mean, let stddev):
            try container.encode("normal", forKey: JSONKey("kind"))
            try ms(mean, "mean_ms")
            try ms(stddev, "stddev_ms")
        case .lognormal(let median, let sigma):
            try container.encode("lognormal", forKey: JSONKey("kind"))
            try ms(median, "median_ms")
            try container.encode(sigma, forKey: JSONKey("sigma"))
        case .pareto(let minimum, let shape):
            try container.encode("pareto", forKey: JSONKey("kind"))
            try ms(minimum, "minimum_ms")
            try container.encode(shape, forKey: JSONKey("shape"))
        case .shifted:
            preconditionFailure("unwrapped above")
        }
        if base != .zero { try ms(base, "base_ms") }
    }
}
