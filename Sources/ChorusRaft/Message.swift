/// A message between two members of one Raft group.
///
/// Invariant: the core only acts on messages that pass `isWellFormed` (indices and terms
/// below their limits, entries contiguous after `prevIndex` with non-decreasing terms no
/// newer than the message's term); anything else is dropped, never trapped on.
public struct Message: Hashable, Sendable, CustomStringConvertible {
    public var from: NodeID
    public var to: NodeID
    /// The sender's term; for a pre-vote request and a granted pre-vote response, the term
    /// the candidate would campaign in (its term + 1).
    public var term: Term
    public var body: MessageBody

    @inlinable public init(from: NodeID, to: NodeID, term: Term, body: MessageBody) {
        self.from = from; self.to = to; self.term = term; self.body = body
    }

    public var description: String { "\(from)→\(to) t\(term) \(body)" }

    /// A leader's AppendEntries, heartbeat or snapshot: what only a leader sends to replicate.
    public var isReplication: Bool {
        switch body {
        case .appendEntries, .heartbeat, .installSnapshot: return true
        case .voteRequest, .voteResponse, .appendResponse, .heartbeatResponse, .timeoutNow, .readIndex, .readIndexResponse: return false
        }
    }

    /// True when every index and term is in range and the entries obey the log's invariants.
    public var isWellFormed: Bool {
        guard term.value < Term.limit else { return false }
        func ok(_ i: LogIndex) -> Bool { i.value < LogIndex.limit }
        func ok(_ t: Term) -> Bool { t.value < Term.limit }
        switch body {
        case let .voteRequest(r): return ok(r.lastIndex) && ok(r.lastTerm)
        case .voteResponse, .timeoutNow, .heartbeatResponse, .readIndex: return true
        case let .appendEntries(a):
            guard ok(a.prevIndex), ok(a.prevTerm), ok(a.commit), a.prevTerm <= term,
                  a.prevIndex.value + UInt64(a.entries.count) < LogIndex.limit else { return false }
            var previous = a.prevTerm
            var index = a.prevIndex
            for e in a.entries {
                index = index + 1
                guard e.index == index, e.term >= previous, e.term <= term else { return false }
                previous = e.term
            }
            return true
        case let .appendResponse(r): return ok(r.index) && ok(r.hintIndex) && ok(r.hintTerm)
        case let .heartbeat(h): return ok(h.commit)
        case let .installSnapshot(s): return ok(s.metadata.index) && ok(s.metadata.term) && s.metadata.term <= term
        case let .readIndexResponse(r): return ok(r.index)
        }
    }
}

/// What a message says. One case per message of the Raft paper and its extensions.
/// Invariant: each request case has exactly one matching response case (or none, for
/// `timeoutNow`), so a reader finds the rule for each in one handler.
public enum MessageBody: Hashable, Sendable, CustomStringConvertible {
    /// RequestVote (Raft §5.2), or a pre-vote (dissertation §9.6) when `preVote` is set.
    case voteRequest(VoteRequest)
    case voteResponse(VoteResponse)
    /// AppendEntries (Raft §5.3) carrying entries; also the leader's way to advance commit.
    case appendEntries(AppendEntries)
    case appendResponse(AppendResponse)
    /// Empty AppendEntries (Raft §5.2); carries the read context of ReadIndex (§6.4).
    case heartbeat(Heartbeat)
    case heartbeatResponse(HeartbeatResponse)
    /// InstallSnapshot (Raft §7), the snapshot in one message; answered by `appendResponse`.
    case installSnapshot(Snapshot)
    /// "Start an election now": the last step of a leadership transfer (dissertation §3.10).
    case timeoutNow
    /// A follower asks the leader for a read index on behalf of its client (§6.4).
    case readIndex(ReadIndexRequest)
    case readIndexResponse(ReadIndexResponse)

    public var description: String {
        switch self {
        case let .voteRequest(r): return "\(r.preVote ? "preVote" : "vote")(last \(r.lastIndex)@\(r.lastTerm)\(r.transfer ? " transfer" : ""))"
        case let .voteResponse(r): return "\(r.preVote ? "preVote" : "vote")Resp(\(r.granted ? "granted" : "rejected"))"
        case let .appendEntries(a): return "app(prev \(a.prevIndex)@\(a.prevTerm) n=\(a.entries.count) commit \(a.commit))"
        case let .appendResponse(r): return r.reject ? "appResp(reject \(r.index) hint \(r.hintIndex)@\(r.hintTerm))" : "appResp(\(r.index))"
        case let .heartbeat(h): return "heartbeat(commit \(h.commit) ctx \(h.context.count)B)"
        case let .heartbeatResponse(r): return "heartbeatResp(ctx \(r.context.count)B)"
        case let .installSnapshot(s): return "snap(\(s.metadata.index)@\(s.metadata.term))"
        case .timeoutNow: return "timeoutNow"
        case let .readIndex(r): return "readIndex(\(r.context.count)B)"
        case let .readIndexResponse(r): return "readIndexResp(\(r.index))"
        }
    }
}

/// A candidate's (or pre-candidate's) request for a vote.
/// Invariant: `lastIndex`/`lastTerm` describe the candidate's persisted log.
public struct VoteRequest: Hashable, Sendable {
    public var lastIndex: LogIndex
    public var lastTerm: Term
    /// A pre-vote: "would you vote for me?" — nobody changes term or vote for it.
    public var preVote: Bool
    /// The election follows a `timeoutNow` from the leader, so voters skip the check-quorum
    /// lease (dissertation §3.10, §4.2.3).
    public var transfer: Bool

    @inlinable public init(lastIndex: LogIndex, lastTerm: Term, preVote: Bool, transfer: Bool) {
        self.lastIndex = lastIndex; self.lastTerm = lastTerm; self.preVote = preVote; self.transfer = transfer
    }
}

/// The answer to a `VoteRequest`. Invariant: `preVote` echoes the request's.
public struct VoteResponse: Hashable, Sendable {
    public var granted: Bool
    public var preVote: Bool
    @inlinable public init(granted: Bool, preVote: Bool) { self.granted = granted; self.preVote = preVote }
}

/// Entries after `(prevIndex, prevTerm)` and the leader's commit index.
/// Invariant (checked by `Message.isWellFormed`): `entries[i].index == prevIndex + 1 + i`.
public struct AppendEntries: Hashable, Sendable {
    public var prevIndex: LogIndex
    public var prevTerm: Term
    public var entries: [Entry]
    public var commit: LogIndex

    @inlinable public init(prevIndex: LogIndex, prevTerm: Term, entries: [Entry], commit: LogIndex) {
        self.prevIndex = prevIndex; self.prevTerm = prevTerm; self.entries = entries; self.commit = commit
    }
}

/// The answer to `AppendEntries` and `installSnapshot`.
///
/// Accepted: `index` is the last index the follower now holds in agreement with the leader.
/// Rejected: `index` is the `prevIndex` that did not match, and `(hintIndex, hintTerm)` is
/// the follower's last entry at or below it with term ≤ `prevTerm` — the leader skips every
/// index between (fast backtracking, Raft §5.3 "optimization", as etcd does).
/// Invariant: `hintIndex <= index` on a rejection.
public struct AppendResponse: Hashable, Sendable {
    public var reject: Bool
    public var index: LogIndex
    public var hintIndex: LogIndex
    public var hintTerm: Term

    @inlinable public init(reject: Bool, index: LogIndex, hintIndex: LogIndex = .zero, hintTerm: Term = .zero) {
        self.reject = reject; self.index = index; self.hintIndex = hintIndex; self.hintTerm = hintTerm
    }
}

/// The leader's heartbeat. `commit` is at most what the follower is known to hold.
/// Invariant: `context` is empty, or names the latest ReadIndex request waiting for a quorum.
public struct Heartbeat: Hashable, Sendable {
    public var commit: LogIndex
    public var context: [UInt8]
    @inlinable public init(commit: LogIndex, context: [UInt8] = []) { self.commit = commit; self.context = context }
}

/// The answer to a heartbeat. Invariant: `context` echoes the heartbeat's.
public struct HeartbeatResponse: Hashable, Sendable {
    public var context: [UInt8]
    @inlinable public init(context: [UInt8] = []) { self.context = context }
}

/// A follower's request for a read index. Invariant: `context` is non-empty.
public struct ReadIndexRequest: Hashable, Sendable {
    public var context: [UInt8]
    @inlinable public init(context: [UInt8]) { self.context = context }
}

/// The leader's answer: reads for `context` may be served once `index` is applied.
/// Invariant: `index` was the leader's commit index when it received the request.
public struct ReadIndexResponse: Hashable, Sendable {
    public var index: LogIndex
    public var context: [UInt8]
    @inlinable public init(index: LogIndex, context: [UInt8]) { self.index = index; self.context = context }
}
