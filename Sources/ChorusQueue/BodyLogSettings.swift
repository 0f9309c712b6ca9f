import ChorusStorage

/// Settings of a `SegmentBodyStore`. Invariant: `validate()` accepts only values the store can
/// honour (positions fit in 32 bits); the store refuses to open with anything else.
public struct BodyLogSettings: Hashable, Sendable {
    /// Roll to a new segment when a record would grow the active one past this. Default
    /// 64 MiB: large enough that rolls (an fsync each) are rare, small enough that a segment
    /// of acked messages is freed in useful steps.
    public var segmentBytes: Int
    /// A sealed segment whose live body bytes fall below this fraction of its body bytes is
    /// compacted at the next checkpoint (its live bodies copied forward). Default 0.1: disk use
    /// stays below the live bytes × 10/9 plus the segments not yet sealed or freed.
    public var compactBelowLiveFraction: Double
    /// Largest body recovery believes (a larger length field is damage). Default 4 MiB, the
    /// queue's own ceiling on a message.
    public var maxBodyBytes: Int
    /// Appends are buffered up to this many bytes before one write. Default 256 KiB.
    public var writeBufferBytes: Int

    public init(segmentBytes: Int = 64 << 20, compactBelowLiveFraction: Double = 0.1,
                maxBodyBytes: Int = QueueSettings.messageBytesCeiling, writeBufferBytes: Int = 256 << 10) {
        self.segmentBytes = segmentBytes
        self.compactBelowLiveFraction = compactBelowLiveFraction
        self.maxBodyBytes = maxBodyBytes
        self.writeBufferBytes = writeBufferBytes
    }

    public func validate() throws(StorageError) {
        guard segmentBytes >= 1024, segmentBytes <= 1 << 31 else {
            throw .invalidSetting(name: "segmentBytes", rule: "must be between 1 KiB and 2 GiB, got \(segmentBytes)")
        }
        guard compactBelowLiveFraction >= 0, compactBelowLiveFraction <= 0.9 else {
            throw .invalidSetting(name: "compactBelowLiveFraction", rule: "must be between 0 and 0.9, got \(compactBelowLiveFraction)")
        }
        guard maxBodyBytes >= 1, maxBodyBytes <= 1 << 30 else {
            throw .invalidSetting(name: "maxBodyBytes", rule: "must be between 1 byte and 1 GiB, got \(maxBodyBytes)")
        }
        guard writeBufferBytes >= 0, writeBufferBytes <= 64 << 20 else {
            throw .invalidSetting(name: "writeBufferBytes", rule: "must be between 0 and 64 MiB, got \(writeBufferBytes)")
        }
    }
}
