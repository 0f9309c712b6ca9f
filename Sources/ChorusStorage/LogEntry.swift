/// One Raft log entry as read back from a group's log.
/// Invariant: `index` and `term` are those given to `SegmentLog.append`; `payload` is the
/// exact bytes appended, checked against the record's CRC-32C when read.
public struct LogEntry: Hashable, Sendable {
    public var index: UInt64
    public var term: UInt64
    public var payload: [UInt8]

    @inlinable public init(index: UInt64, term: UInt64, payload: [UInt8]) {
        self.index = index; self.term = term; self.payload = payload
    }
}
