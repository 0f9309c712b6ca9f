/// Where a snapshot sits in the log and the membership as of that point.
/// Invariant: `term` is the term of the entry at `index`, and `configuration` is the
/// membership in effect after applying entries up to `index`.
public struct SnapshotMetadata: Hashable, Sendable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term
    public var configuration: Configuration

    @inlinable public init(index: LogIndex, term: Term, configuration: Configuration) {
        self.index = index; self.term = term; self.configuration = configuration
    }
    public var description: String { "snapshot \(index)@\(term) \(configuration)" }
}

/// The application's state machine image after applying entries through `metadata.index`
/// (Raft §7). `data` is opaque to Raft.
/// Invariant: a snapshot only ever covers committed entries.
public struct Snapshot: Hashable, Sendable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    @inlinable public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata; self.data = data
    }

    /// The empty image before index 1, carrying the configuration a new group starts with.
    public static func bootstrap(_ configuration: Configuration) -> Snapshot {
        Snapshot(metadata: SnapshotMetadata(index: .zero, term: .zero, configuration: configuration), data: [])
    }
}
