/// Settings of a `SegmentLog`. Invariant: `validate()` accepts only values the log can honour;
/// the log refuses to open with anything else, naming the setting and the rule.
public struct SegmentLogSettings: Hashable, Sendable {
    /// Roll to a new segment when a record would grow the active one past this many bytes.
    /// Default 64 MiB, etcd's WAL segment size: large enough that rolls (two extra fsyncs and
    /// a directory fsync) are rare, small enough that compaction frees space in useful steps.
    public var segmentBytes: Int = 64 << 20

    /// Largest record body accepted by `append` and believed by recovery. A length field above
    /// it is damage, so a hostile length never sizes an allocation. Default 16 MiB, the same
    /// bound as `Frame.defaultMaxBytes` for peer frames that carry entries.
    public var maxRecordBytes: Int = 16 << 20

    public init(segmentBytes: Int = 64 << 20, maxRecordBytes: Int = 16 << 20) {
        self.segmentBytes = segmentBytes
        self.maxRecordBytes = maxRecordBytes
    }

    public func validate() throws(StorageError) {
        guard segmentBytes >= 256, segmentBytes <= 1 << 30 else {
            throw .invalidSetting(name: "segmentBytes", rule: "must be between 256 bytes and 1 GiB, got \(segmentBytes)")
        }
        guard maxRecordBytes >= 64, maxRecordBytes <= 1 << 30 else {
            throw .invalidSetting(name: "maxRecordBytes", rule: "must be between 64 bytes and 1 GiB, got \(maxRecordBytes)")
        }
    }
}
