import ChorusBase

extension Interval {
    /// `millis` milliseconds, clamped to about 73 years: far beyond any TTL or wait the table
    /// accepts, and small enough that neither this conversion nor `Instant + Interval` can
    /// overflow, whatever a caller passes.
    static func lockMillis(_ millis: UInt64) -> Interval {
        let cap = UInt64(Int64.max / 1_000_000 / 4)
        return .milliseconds(Int64(min(millis, cap)))
    }
}
