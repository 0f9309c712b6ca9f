/// One entry of a Raft log.
///
/// Invariant (Log Matching, Raft §5.3): an entry is named by `(index, term)`; two logs that
/// hold entries with the same index and term hold the same payload there and agree on every
/// entry before it. Within one log, terms never decrease as the index grows.
public struct Entry: Hashable, Sendable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term
    public var payload: EntryPayload

    @inlinable public init(index: LogIndex, term: Term, payload: EntryPayload) {
        self.index = index; self.term = term; self.payload = payload
    }

    public var id: EntryID { EntryID(index: index, term: term) }

    /// What the entry counts for in message, in-flight and apply budgets.
    public var byteCount: Int { 16 + payload.byteCount }

    public var description: String { "\(index)@\(term):\(payload)" }
}

/// What an entry carries.
/// Invariant: a `.configuration` payload is a complete, valid configuration (not a delta), so
/// a node learns its membership from the latest such entry alone.
public enum EntryPayload: Hashable, Sendable, CustomStringConvertible {
    /// The empty entry a new leader appends so that entries of earlier terms get committed
    /// with it (Raft §5.4.2, §8).
    case noop
    /// An opaque command for the application's state machine.
    case command([UInt8])
    /// The membership from here on (Raft dissertation §4.1: it takes effect when appended).
    case configuration(Configuration)

    public var byteCount: Int {
        switch self {
        case .noop: return 0
        case let .command(bytes): return bytes.count
        case let .configuration(c): return 8 * (c.voters.count + c.learners.count)
        }
    }

    public var description: String {
        switch self {
        case .noop: return "noop"
        case let .command(bytes): return "cmd(\(bytes.count)B)"
        case let .configuration(c): return "conf\(c)"
        }
    }
}

/// The identity of an entry across all logs of a group: `(index, term)`.
/// Invariant: by Log Matching, at most one payload is ever committed under one `EntryID`.
public struct EntryID: Hashable, Sendable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term

    @inlinable public init(index: LogIndex, term: Term) { self.index = index; self.term = term }
    public var description: String { "\(index)@\(term)" }
}
