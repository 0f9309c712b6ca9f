import ChorusBase

/// Something a simulated run does to the cluster at a given simulated time.
public enum ClusterAction: Sendable {
    /// Crash nodes (memory lost). `fraction` picks that share of the live nodes at random.
    case crash(nodes: [Int], fraction: Double?)
    /// Restart crashed nodes with the same names; they rejoin through a live seed.
    case restart(nodes: [Int])
    /// Graceful leave.
    case leave(nodes: [Int])
    /// Split into groups that cannot reach each other (nodes not listed form one more group).
    case partition(groups: [[Int]])
    /// One-way cut: packets from `from` to `to` are dropped.
    case cut(from: [Int], to: [Int])
    /// Remove every partition and cut.
    case heal
    /// Overload nodes: their traffic takes `extra` longer in both directions until `until`.
    case slow(nodes: [Int], extra: Interval, until: Instant)
    /// Change datagram loss.
    case loss(Double)
}

/// A `ClusterAction` scheduled at a simulated instant.
public struct ScheduledAction: Sendable {
    public var at: Instant
    public var action: ClusterAction
    public init(at: Instant, _ action: ClusterAction) { self.at = at; self.action = action }
}
