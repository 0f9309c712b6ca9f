import Foundation
import ChorusBase

/// Lifeguard's dynamic suspicion timeout (Lifeguard §IV.B, "Local Health Aware Suspicion").
///
/// A suspicion starts with the longest timeout and shrinks toward the shortest as
/// independent confirmations (other members suspecting the same member at the same
/// incarnation) arrive: `max - (max - min) · log(C + 1) / log(K + 1)`, where C is the number
/// of confirmations and K the number expected. Invariant: `minimum <= timeout <= maximum`.
public struct SuspicionTimeout: Sendable, Hashable {
    public let minimum: Interval
    public let maximum: Interval
    public let expectedConfirmations: Int

    public init(minimum: Interval, maximum: Interval, expectedConfirmations: Int) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.expectedConfirmations = max(0, expectedConfirmations)
    }

    /// Settings-derived bounds for a cluster of `clusterSize` members: the minimum grows with
    /// log10 of the size (gossip needs about log N rounds to reach everyone).
    public init(settings: MembershipSettings, clusterSize: Int) {
        let scale = max(1.0, log10(Double(max(1, clusterSize))))
        let minimum = settings.probeInterval.scaled(settings.suspicionMultiplier * scale)
        let maximum = minimum.scaled(settings.suspicionMaxMultiplier)
        // A cluster of n can give at most n - 2 confirmations (everyone but the suspect and
        // the first accuser).
        let expected = min(settings.suspicionConfirmations, max(0, clusterSize - 2))
        self.init(minimum: minimum, maximum: maximum, expectedConfirmations: expected)
    }

    /// The timeout after `confirmations` independent confirmations.
    public func timeout(confirmations: Int) -> Interval {
        guard expectedConfirmations > 0 else { return minimum }
        let c = Double(min(confirmations, expectedConfirmations))
        let fraction = log(c + 1) / log(Double(expectedConfirmations) + 1)
        let span = Double((maximum - minimum).nanoseconds)
        let t = Interval(nanoseconds: maximum.nanoseconds - Int64(span * fraction))
        return max(minimum, t)
    }
}
