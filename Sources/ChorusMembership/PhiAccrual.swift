import Foundation
import ChorusBase

/// A phi-accrual estimator (Hayashibara et al., 2004) over response times, in O(1) memory.
///
/// It models the *logarithm* of the time a member takes to show liveness after we ask
/// (ping → ack) as a normal distribution, tracked by an exponentially weighted mean and
/// variance. Working in log space makes lognormal latency exactly normal and keeps heavy
/// tails from being mistaken for failures; the classic heartbeat-interval estimator would
/// not work for SWIM, where a member may be probed by a given node only once per N rounds.
///
/// `phi(t) = -log10(P(response later than t))`. A probe fails when `phi` of its elapsed
/// time passes the threshold; equivalently, the probe timeout is the time at which phi
/// reaches the threshold (`timeout(threshold:)`).
/// Invariant: `count == 0` ⇔ no samples; `variance >= 0`.
public struct PhiAccrual: Sendable, Hashable {
    // Stored as half-precision floats (5 bytes in all): ln(seconds) lies within ±12 where
    // Float16 resolves 0.4%, far finer than the jitter being modelled; arithmetic is in Float.
    private var storedMean: Float16
    private var storedVariance: Float16
    /// Samples seen, saturating at 255 (the window is 32).
    public private(set) var count: UInt8

    /// Mean of ln(seconds).
    public var mean: Float {
        get { Float(storedMean) }
        set { storedMean = Float16(newValue) }
    }
    /// Variance of ln(seconds).
    public var variance: Float {
        get { Float(storedVariance) }
        set { storedVariance = Float16(max(0, newValue)) }
    }

    /// Weight of a new sample once the window is full: 1/32, about the last 32 probes.
    static let window: Float = 32
    /// Response times below this are clamped (ln(0) is undefined); 10 µs is below any real RTT.
    static let floorSeconds: Float = 10e-6

    public init() { storedMean = 0; storedVariance = 0; count = 0 }

    /// Feeds one observed response time.
    public mutating func record(_ sample: Interval) {
        let x = log(max(Float(sample.seconds), PhiAccrual.floorSeconds))
        if count == 0 {
            mean = x
            variance = 0
            count = 1
            return
        }
        if count < UInt8.max { count += 1 }
        // Welford while warming up, then an exponentially weighted window.
        let w = 1 / min(Float(count), PhiAccrual.window)
        let delta = x - mean
        mean += w * delta
        variance = (1 - w) * (variance + w * delta * delta)
    }

    /// Standard deviation in log space, never below `floor`.
    @inlinable func sigma(floor: Float) -> Float { max(variance.squareRoot(), floor) }

    /// Phi for a response that has not arrived after `elapsed`.
    public func phi(elapsed: Interval, minStdDev: Double) -> Double {
        guard count > 0 else { return 0 }
        let t = max(Float(elapsed.seconds), PhiAccrual.floorSeconds)
        let z = Double((log(t) - mean) / sigma(floor: Float(minStdDev)))
        return PhiAccrual.phi(z: z)
    }

    /// The elapsed time at which phi reaches `threshold`.
    public func timeout(threshold: Double, minStdDev: Double) -> Interval {
        let z = PhiAccrual.z(phi: threshold)
        let seconds = exp(Double(mean) + z * Double(sigma(floor: Float(minStdDev))))
        return Interval(seconds: min(seconds, 3600))
    }

    /// -log10 of the upper tail of the standard normal at z, computed with erfc so that it
    /// stays accurate far into the tail (phi 8 is z ≈ 5.6).
    public static func phi(z: Double) -> Double {
        let tail = 0.5 * erfc(z / 2.0.squareRoot())
        if tail <= 1e-300 { return 300 }
        return -log10(tail)
    }

    /// Inverse of `phi(z:)` by bisection (called rarely; settings are fixed per run).
    public static func z(phi target: Double) -> Double {
        var lo = -10.0, hi = 40.0
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if phi(z: mid) < target { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}
