/// Why a storage operation failed. Every decoder in this module reports bad bytes with one of
/// these; none traps. Invariant: an error that means "the data on disk cannot be trusted"
/// (`corruptSegment`, `corruptSnapshot`, `missingRecords`) is never swallowed by recovery:
/// the node refuses to start rather than silently lose committed entries.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed (`errno` as returned by Glibc).
    case io(operation: String, path: String, errno: Int32)
    /// A segment holds damage that is not a torn tail: damage in a segment other than the last,
    /// damage followed by valid records, a checksum-valid record that breaks the format or the
    /// log's rules, or a gap in the sequence numbers.
    case corruptSegment(file: String, offset: Int, reason: String)
    /// A snapshot file is damaged or not a snapshot file.
    case corruptSnapshot(file: String, reason: String)
    /// After recovery a group's entries `from...through` are neither in a segment nor covered by
    /// its snapshot mark: a segment was lost or deleted too early.
    case missingRecords(group: UInt64, from: UInt64, through: UInt64)
    /// The caller broke the log's rules (an index gap, truncating below the snapshot, ...).
    case invalidAppend(group: UInt64, index: UInt64, reason: String)
    /// The requested index lies at or below the group's snapshot mark.
    case compacted(group: UInt64, index: UInt64, firstIndex: UInt64)
    /// The requested index lies beyond the group's last index.
    case unavailable(group: UInt64, index: UInt64, lastIndex: UInt64)
    /// A read asked for `from ..< to` with `from > to`.
    case invalidRange(group: UInt64, from: UInt64, to: UInt64)
    /// A record body would exceed `SegmentLogSettings.maxRecordBytes`.
    case recordTooLarge(bytes: Int, limit: Int)
    /// A snapshot older than the stored one was offered.
    case staleSnapshot(group: UInt64, index: UInt64, storedIndex: UInt64)
    /// A setting is out of range; names the setting and the rule.
    case invalidSetting(name: String, rule: String)
    /// An earlier write or fsync failed, so what is durable is unknown; the log refuses all
    /// further work (retrying fsync after a failure can report success for lost data).
    case failed(reason: String)
    /// The log was closed.
    case closed

    public var description: String {
        switch self {
        case let .io(operation, path, errno): return "\(operation) \(path): errno \(errno)"
        case let .corruptSegment(file, offset, reason): return "corrupt segment \(file) at offset \(offset): \(reason)"
        case let .corruptSnapshot(file, reason): return "corrupt snapshot \(file): \(reason)"
        case let .missingRecords(group, from, through): return "group \(group): entries \(from)...\(through) missing from the log"
        case let .invalidAppend(group, index, reason): return "group \(group) index \(index): \(reason)"
        case let .compacted(group, index, firstIndex): return "group \(group): index \(index) compacted (first index \(firstIndex))"
        case let .unavailable(group, index, lastIndex): return "group \(group): index \(index) beyond last index \(lastIndex)"
        case let .invalidRange(group, from, to): return "group \(group): invalid range \(from)..<\(to)"
        case let .recordTooLarge(bytes, limit): return "record of \(bytes) bytes exceeds limit \(limit)"
        case let .staleSnapshot(group, index, stored): return "group \(group): snapshot at \(index) older than stored \(stored)"
        case let .invalidSetting(name, rule): return "invalid setting \(name): \(rule)"
        case let .failed(reason): return "log failed: \(reason)"
        case .closed: return "log closed"
        }
    }
}
