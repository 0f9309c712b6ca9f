/// What opening a `SegmentLog` found and repaired. Invariant: the only repairs recovery makes
/// are the ones listed here — cutting a torn tail off the last segment and removing a last
/// segment whose creation never completed; records are never reordered or invented.
public struct RecoveryReport: Hashable, Sendable {
    /// A torn tail cut off the last segment.
    public struct TailTruncation: Hashable, Sendable {
        public var file: String
        /// The file now ends here: after the last good record.
        public var offset: Int
        public var droppedBytes: Int
        public var reason: String
    }

    /// A last segment removed because its header or opening checkpoint records were torn
    /// (a roll that crashed before its fsync, so nothing in it was ever acknowledged).
    public struct RemovedSegment: Hashable, Sendable {
        public var file: String
        public var reason: String
    }

    public var segmentsScanned = 0
    public var recordsReplayed = 0
    public var groups = 0
    public var truncatedTails: [TailTruncation] = []
    public var removedSegments: [RemovedSegment] = []

    public init() {}

    /// Nothing needed repair.
    public var isClean: Bool { truncatedTails.isEmpty && removedSegments.isEmpty }
}
