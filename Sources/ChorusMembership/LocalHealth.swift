import ChorusBase

/// Lifeguard's local health multiplier (Lifeguard §IV.A, "Local Health Aware Probe").
///
/// A score in `0...maximum` that rises when this node sees evidence that *it* is slow — by
/// one for each nack a failed probe's helpers owed and did not send (by one when the probe
/// had no helpers), and by one for each suspicion about itself that it had to refute — and
/// falls by one with every successful probe (memberlist's awareness deltas). Probe interval and probe
/// timeout are stretched by `1 + score`, so a struggling node probes less aggressively and
/// waits longer before blaming others. Invariant: `0 <= score <= maximum`.
public struct LocalHealth: Sendable, Hashable {
    public private(set) var score: Int
    public let maximum: Int

    public init(maximum: Int) {
        self.score = 0
        self.maximum = max(0, maximum)
    }

    public enum Evidence: Sendable {
        /// A probe was answered in time (−1).
        case probeSucceeded
        /// A probe failed and `count` of its helpers sent no nack: our own links, not the
        /// target, are suspect (+count).
        case missedNacks(Int)
        /// A probe failed with no indirect help at all (+1).
        case probeFailed
        /// Another node suspected us and we refuted it (+1).
        case refutedSuspicion
    }

    public mutating func apply(_ evidence: Evidence) {
        switch evidence {
        case .probeSucceeded: score = max(0, score - 1)
        case let .missedNacks(count): score = min(maximum, score + min(max(0, count), maximum))
        case .probeFailed, .refutedSuspicion: score = min(maximum, score + 1)
        }
    }

    /// Multiplier applied to probe interval and timeouts.
    public var multiplier: Int64 { Int64(score + 1) }

    public func scale(_ interval: Interval) -> Interval { interval * multiplier }
}
