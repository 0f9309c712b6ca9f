import ChorusBase
import Foundation

/// How long one message takes on one link: a distribution sampled once per message.
///
/// Invariant: `sample(using:)` returns an interval in `0...maximumSample`, whatever the
/// parameters (normals are clamped at zero; heavy Pareto tails are capped), and it draws all
/// of its randomness from the `SeededRandom` it is given, so one seed gives one sequence of
/// delays. `validate()` refuses parameters that make no sense (negative times, low > high,
/// non-positive Pareto shape) with an error that names the parameter.
public indirect enum LatencyModel: Sendable, Equatable {
    /// Always the same delay.
    case constant(Interval)
    /// Uniform on `low...high`.
    case uniform(low: Interval, high: Interval)
    /// Gaussian, clamped at zero (so with a large `stddev` the mean drifts above `mean`).
    case normal(mean: Interval, stddev: Interval)
    /// `median · e^(sigma·Z)` with Z standard normal: the long right tail of real WAN and
    /// datacenter round trips. The median is exact; the mean is `median · e^(sigma²/2)`.
    case lognormal(median: Interval, sigma: Double)
    /// Pareto type I: `minimum / U^(1/shape)`, never below `minimum`; the tail gets heavier as
    /// `shape` falls (infinite mean at shape ≤ 1, so samples are capped at `maximumSample`).
    case pareto(minimum: Interval, shape: Double)
    /// `base` plus a sample of `model`: a fixed propagation delay under a jittery queueing delay.
    case shifted(base: Interval, LatencyModel)

    /// The cap on any sample: one hour is far beyond any timeout a protocol would wait for,
    /// and keeps heavy tails from overflowing the nanosecond clock.
    public static let maximumSample = Interval.seconds(3600 as Int64)

    /// This model with a fixed `base` delay added to every sample.
    public func adding(base: Interval) -> LatencyModel {
        base == .zero ? self : .shifted(base: base, self)
    }

    /// Draws one delay.
    @inlinable
    public func sample(using rng: inout SeededRandom) -> Interval {
        switch self {
        case .constant(let delay):
            return LatencyModel.clamped(Double(delay.nanoseconds))
        case .uniform(let low, let high):
            let span = Double(high.nanoseconds - low.nanoseconds)
            return LatencyModel.clamped(Double(low.nanoseconds) + span * rng.unit())
        case .normal(let mean, let stddev):
            return LatencyModel.clamped(Double(mean.nanoseconds) + Double(stddev.nanoseconds) * LatencyModel.standardNormal(using: &rng))
        case .lognormal(let median, let sigma):
            return LatencyModel.clamped(Double(median.nanoseconds) * exp(sigma * LatencyModel.standardNormal(using: &rng)))
        case .pareto(let minimum, let shape):
            // 1 - unit() lies in (0, 1], so the power never divides by zero.
            let u = 1.0 - rng.unit()
            return LatencyModel.clamped(Double(minimum.nanoseconds) / pow(u, 1.0 / shape))
        case .shifted(let base, let model):
            let sum = base.nanoseconds &+ model.sample(using: &rng).nanoseconds
            return LatencyModel.clamped(Double(sum))
        }
    }

    /// One standard normal variate by Box–Muller (the cosine half; the sine half is dropped so
    /// the model stays a stateless value).
    @inlinable
    static func standardNormal(using rng: inout SeededRandom) -> Double {
        let u1 = 1.0 - rng.unit()  // (0, 1]: log stays finite
        let u2 = rng.unit()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    @inlinable
    static func clamped(_ nanoseconds: Double) -> Interval {
        // `!(x > 0)` also catches NaN from nonsense parameters that skipped validation.
        if !(nanoseconds > 0) { return .zero }
        if nanoseconds >= Double(maximumSample.nanoseconds) { return maximumSample }
        return Interval(nanoseconds: Int64(nanoseconds.rounded()))
    }

    /// A delay no sample falls below: the simulator's lookahead (a message sent at `t` cannot
    /// arrive before `t + lowerBound`), which lets node groups run side by side for that long.
    public var lowerBound: Interval {
        switch self {
        case .constant(let delay): return max(.zero, delay)
        case .uniform(let low, _): return max(.zero, low)
        case .normal, .lognormal: return .zero
        case .pareto(let minimum, _): return max(.zero, minimum)
        case .shifted(let base, let model): return max(.zero, base) + model.lowerBound
        }
    }

    /// Throws when a parameter is out of its domain; `field` prefixes the parameter's name.
    public func validate(field: String = "latency") throws(SimSettingError) {
        switch self {
        case .constant(let delay):
            try SimSettingError.require(delay >= .zero, field, "must not be negative (got \(delay))")
        case .uniform(let low, let high):
            try SimSettingError.require(low >= .zero, "\(field).low", "must not be negative (got \(low))")
            try SimSettingError.require(high >= low, "\(field).high", "must be at least low (\(low)), got \(high)")
        case .normal(let mean, let stddev):
            try SimSettingError.require(mean >= .zero, "\(field).mean", "must not be negative (got \(mean))")
            try SimSettingError.require(stddev >= .zero, "\(field).stddev", "must not be negative (got \(stddev))")
        case .lognormal(let median, let sigma):
            try SimSettingError.require(median >= .zero, "\(field).median", "must not be negative (got \(median))")
            try SimSettingError.require(sigma.isFinite && sigma >= 0, "\(field).sigma", "must be a finite number ≥ 0 (got \(sigma))")
        case .pareto(let minimum, let shape):
            try SimSettingError.require(minimum >= .zero, "\(field).minimum", "must not be negative (got \(minimum))")
            try SimSettingError.require(shape.isFinite && shape > 0, "\(field).shape", "must be a finite number > 0 (got \(shape))")
        case .shifted(let base, let model):
            try SimSettingError.require(base >= .zero, "\(field).base", "must not be negative (got \(base))")
            try model.validate(field: field)
        }
    }
}
