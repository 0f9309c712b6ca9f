import ChorusBase

/// Timing of cross-shard deadlock detection, each default with where its number comes from.
///
/// The latency budget from a cycle forming to its victim's `cancelWait` being proposed: the
/// edge that closes it reaches the detector within `reportInterval`; the next detection pass
/// (within `detectionInterval`) sees the cycle; a cycle spanning shards is confirmed by one
/// fresh report from each shard involved (asked for at once, one round trip) and the pass
/// after that (within `detectionInterval`) names the victim. Worst case
/// `reportInterval + 2 × detectionInterval` plus a round trip and the cancel's commit.
/// Invariant once `validate()` passes: that worst case leaves at least 250 ms of
/// `detectionBound` for the round trip and the commit.
public struct DetectorSettings: Hashable, Sendable {
    /// How often each shard leader sends the detector its `LockTable.waitEdges()` (it may also
    /// send them as soon as they change). 250 ms, as TiKV's waiter manager batches.
    public var reportInterval: Interval = .milliseconds(250)
    /// How often the detector's driver calls `detect(at:)`. 100 ms: the graph pass is linear
    /// in edges (about a millisecond for ten thousand), and confirmation needs two passes.
    public var detectionInterval: Interval = .milliseconds(100)
    /// A shard's edges older than this are dropped: its leader stopped reporting (lost
    /// leadership or its link), and edges that old may describe waits long settled. Five
    /// seconds is twenty report intervals.
    public var staleness: Interval = .seconds(5)
    /// A victim named once is not named again for this long, and its wait's edges are left out
    /// of the graph meanwhile (its cancel is on its way). If the wait is still reported after
    /// that, the cancel was lost and it is named again. Two seconds is a few report intervals
    /// plus a commit.
    public var victimRetry: Interval = .seconds(2)
    /// Cycles whose edges come from more than one shard are only acted on after every shard
    /// involved has reported again since the cycle was first seen (see `DeadlockDetector`).
    /// Off, a cycle assembled from reports of different ages may be a phantom.
    public var confirmCrossShardCycles: Bool = true
    /// The promise: a deadlock's victim is failed within this long of the cycle forming.
    public var detectionBound: Interval = .seconds(1)

    public init() {}

    /// `reportInterval + 2 × detectionInterval`: the detector's share of the latency budget.
    public var worstCaseLatency: Interval { reportInterval + detectionInterval * 2 }

    /// Refuses an invalid combination with a message naming the setting and its rule.
    public func validate() throws(LockSettingsError) {
        for (name, value) in [("report_interval", reportInterval), ("detection_interval", detectionInterval),
                              ("staleness", staleness), ("victim_retry", victimRetry), ("detection_bound", detectionBound)]
        where value <= .zero {
            throw LockSettingsError("\(name) must be positive, got \(value)")
        }
        if staleness < reportInterval * 2 {
            throw LockSettingsError("staleness (\(staleness)) must be at least twice report_interval (\(reportInterval))")
        }
        if victimRetry < reportInterval + detectionInterval {
            throw LockSettingsError("victim_retry (\(victimRetry)) must be at least report_interval + detection_interval")
        }
        if worstCaseLatency + .milliseconds(250) > detectionBound {
            throw LockSettingsError("report_interval + 2 × detection_interval (\(worstCaseLatency)) must leave 250 ms of detection_bound (\(detectionBound))")
        }
    }
}
