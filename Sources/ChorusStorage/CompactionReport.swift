/// What `SegmentLog.compact()` deleted. Invariant: `deletedSegments` is a prefix of the log's
/// segments in order, never the active one, and none held a live entry.
public struct CompactionReport: Hashable, Sendable {
    public var deletedSegments: [String] = []
    public var retainedSegments = 0
    /// The group whose oldest live entry keeps the oldest retained segment, if any: the group
    /// to snapshot next to free more space.
    public var pinnedBy: UInt64?

    public init() {}
}
