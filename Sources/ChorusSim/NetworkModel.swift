import ChorusBase

/// What the simulated network does to datagrams: delay, loss, duplication and reordering.
///
/// Invariant (checked by `validate()`): probabilities lie in `[0, 1]`, `reorderSpan ≥ 0`, and
/// every latency model is valid. It is a plain value: the `Network` reads it on every send, so
/// changing `loss` mid-run (a scenario's `loss` action) affects packets sent from then on.
/// Reliable (stream) sends use only the latency part; see `Network.transmit`.
public struct NetworkModel: Sendable, Equatable {
    /// Delay of every link without an override. The default, 1 ms constant, is a quiet LAN
    /// round trip's order of magnitude and keeps small tests easy to reason about.
    public var latency: LatencyModel = .constant(.milliseconds(1))
    /// Per-direction overrides: `linkLatency[SimLink(from: a, to: b)]` applies to a → b only.
    public var linkLatency: [SimLink: LatencyModel] = [:]
    /// Probability that a datagram is lost.
    public var loss: Double = 0
    /// Probability that a datagram (that was not lost) arrives twice, each copy with its own delay.
    public var duplication: Double = 0
    /// Probability that a datagram gets an extra delay drawn uniformly from `0..<reorderSpan`,
    /// so that later packets can overtake it.
    public var reorder: Double = 0
    /// The largest extra delay of a reordered datagram. 20 ms is a few LAN latencies: enough
    /// to overtake several later packets without looking like a loss to a 500 ms probe timeout.
    public var reorderSpan: Interval = .milliseconds(20)

    public init(latency: LatencyModel = .constant(.milliseconds(1)), loss: Double = 0, duplication: Double = 0,
                reorder: Double = 0, reorderSpan: Interval = .milliseconds(20)) {
        self.latency = latency
        self.loss = loss
        self.duplication = duplication
        self.reorder = reorder
        self.reorderSpan = reorderSpan
    }

    /// The latency model of the direction `from → to`.
    @inlinable
    public func latency(from: SimNodeID, to: SimNodeID) -> LatencyModel {
        if linkLatency.isEmpty { return latency }
        return linkLatency[SimLink(from: from, to: to)] ?? latency
    }

    /// The least delay of any datagram or stream packet on any link (see `LatencyModel.lowerBound`);
    /// reordering and slow nodes only add to it.
    public var minimumLatency: Interval {
        linkLatency.values.reduce(latency.lowerBound) { min($0, $1.lowerBound) }
    }

    /// Throws on the first setting out of its domain, naming it.
    public func validate() throws(SimSettingError) {
        try latency.validate(field: "network.latency")
        for (link, model) in linkLatency.sorted(by: { ($0.key.from, $0.key.to) < ($1.key.from, $1.key.to) }) {
            try model.validate(field: "network.linkLatency[\(link)]")
        }
        for (name, p) in [("loss", loss), ("duplication", duplication), ("reorder", reorder)] {
            try SimSettingError.require(p >= 0 && p <= 1, "network.\(name)", "must be a probability in [0, 1] (got \(p))")
        }
        try SimSettingError.require(reorderSpan >= .zero, "network.reorderSpan", "must not be negative (got \(reorderSpan))")
    }
}
