/// One change to the shared log. The log is the ordered list of these; replaying them in
/// sequence order rebuilds every group's state. Invariant: replay is deterministic — the state
/// after a record depends only on the records before it, never on the file they sit in.
///
/// - `entry`: Raft entry `index` of `group`; must be the group's last index + 1.
/// - `truncation`: entries `fromIndex...` of `group` are gone (a Raft log conflict); written
///   before the entry that replaces them, so replay meets it in the same order.
/// - `hardState`: the group's term/vote/commit from here on (latest wins).
/// - `snapshotMark`: entries up to the mark are covered by a snapshot and compacted.
/// - `groupRemoval`: the group and all its state are gone.
/// - `checkpoint`: a group's state at the start of a segment (see `GroupCheckpoint`).
public enum Record: Hashable, Sendable {
    case entry(group: UInt64, index: UInt64, term: UInt64, payload: [UInt8])
    case truncation(group: UInt64, fromIndex: UInt64)
    case hardState(group: UInt64, HardState)
    case snapshotMark(group: UInt64, SnapshotMark)
    case groupRemoval(group: UInt64)
    case checkpoint(GroupCheckpoint)

    /// The group the record belongs to.
    public var group: UInt64 {
        switch self {
        case let .entry(group, _, _, _), let .truncation(group, _), let .hardState(group, _),
             let .snapshotMark(group, _), let .groupRemoval(group):
            return group
        case let .checkpoint(c):
            return c.group
        }
    }

    /// The largest log index the record names, if it names one.
    var highestIndex: UInt64? {
        switch self {
        case let .entry(_, index, _, _): return index
        case let .truncation(_, fromIndex): return fromIndex
        case let .snapshotMark(_, mark): return mark.index
        case let .checkpoint(c): return c.lastIndex
        case .hardState, .groupRemoval: return nil
        }
    }

    /// The type byte stored on disk.
    public var type: RecordType {
        switch self {
        case .entry: return .entry
        case .truncation: return .truncation
        case .hardState: return .hardState
        case .snapshotMark: return .snapshotMark
        case .groupRemoval: return .groupRemoval
        case .checkpoint: return .checkpoint
        }
    }
}

/// The type byte of a record body. Invariant: values are never reused for another meaning;
/// an unknown value is a format error, not something to skip.
public enum RecordType: UInt8, Sendable, CaseIterable {
    case entry = 1
    case truncation = 2
    case hardState = 3
    case snapshotMark = 4
    case groupRemoval = 5
    case checkpoint = 6

    /// Bytes of the body (type and sequence included) before any variable part; an entry's
    /// payload follows, every other type is exactly this long.
    var fixedBodyBytes: Int {
        switch self {
        case .entry: return 1 + 8 + 3 * 8
        case .truncation: return 1 + 8 + 2 * 8
        case .hardState: return 1 + 8 + 4 * 8
        case .snapshotMark: return 1 + 8 + 3 * 8
        case .groupRemoval: return 1 + 8 + 8
        case .checkpoint: return 1 + 8 + 4 * 8 + 1 + 3 * 8
        }
    }
}
