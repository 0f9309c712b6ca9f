/// Counters of what a `SegmentLog` has done since it was opened, for metrics and for tests of
/// group commit. Invariant: counters only grow; `fileSyncs` counts every fsync of a segment
/// file and `directorySyncs` every fsync of the log directory, recovery's included.
public struct SegmentLogStatistics: Hashable, Sendable {
    public var appendedRecords = 0
    public var syncs = 0
    public var fileSyncs = 0
    public var directorySyncs = 0
    public var bytesWritten = 0
    public var segmentsCreated = 0
    public var segmentsDeleted = 0

    public init() {}
}
