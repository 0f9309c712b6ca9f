import ChorusBase

/// Settings of the leader's soft clocks (`SessionLeases`, `WaitDeadlines`).
/// Invariant once `validate()` passes: `reproposeAfter` is positive.
public struct LeaderClockSettings: Hashable, Sendable {
    /// A session or wait reported due is reported again after this long if the entry the
    /// leader proposed for it (`expireSession`, `cancelWait`) has not been applied by then —
    /// the proposal may have been dropped (a full proposal queue, a leadership blip). One
    /// second is several Raft round trips on a LAN and a few election ticks.
    public var reproposeAfter: Interval = .seconds(1)

    public init() {}

    public func validate() throws(LockSettingsError) {
        if reproposeAfter <= .zero { throw LockSettingsError("repropose_after must be positive, got \(reproposeAfter)") }
    }
}
