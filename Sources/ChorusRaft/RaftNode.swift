import ChorusBase

/// One member of one Raft group, as a deterministic state machine (sans-I/O), modelled on
/// etcd-io/raft.
///
/// Four verbs: `step` (a message arrived), `tick` (one tick of time passed), the requests
/// `propose`, `readIndex`, `proposeConfChange`, `transferLeadership`, `campaign`, and the
/// `ready()`/`advance(_:)` pair through which the driver persists, sends and applies (the
/// order is written once, on `Ready`). Nothing here touches a clock, a socket, a file or a
/// thread; randomness comes only from the seed given at creation, and no decision follows
/// a `Set` or `Dictionary` order.
///
/// Where the rules live: elections, pre-vote and check-quorum in `RaftNode+Election.swift`;
/// log replication and commitment in `RaftNode+Replication.swift`; snapshots in
/// `RaftNode+Snapshot.swift`; membership changes in `RaftNode+Membership.swift`; ReadIndex
/// in `RaftNode+ReadIndex.swift`; leadership transfer in `RaftNode+Transfer.swift`.
///
/// Invariants: at most one vote per term; `term` never decreases; a leader never
/// overwrites or deletes entries in its own log (Leader Append-Only); only entries of the
/// current term are committed by counting replicas (Raft §5.4.2); no message leaves before
/// the state it depends on is persisted (see `Ready`), except a leader's replication
/// messages of a durable term, which may precede the persist of its own new entries
/// (dissertation §10.2.1, `Ready.earlyMessages`).
public struct RaftNode: Sendable {
    /// The roles of Raft §5.1 plus etcd's pre-candidate (dissertation §9.6). Learners are
    /// followers that are not promotable. Invariant: only `candidate` has voted for itself
    /// in the current term, and only `leader` has a `ProgressTracker`.
    public enum Role: String, Hashable, Sendable {
        case follower, preCandidate, candidate, leader
    }

    public let id: NodeID
    public let settings: RaftSettings

    public internal(set) var term: Term
    public internal(set) var vote: NodeID?
    public internal(set) var role: Role = .follower
    /// The leader of `term` as far as this node knows.
    public internal(set) var leader: NodeID?
    public internal(set) var log: RaftLog
    /// The membership in effect: the latest configuration entry in the log, committed or
    /// not (dissertation §4.1), else the snapshot's.
    public internal(set) var configuration: Configuration
    /// The index of the entry (or snapshot) that set `configuration`.
    public internal(set) var configurationIndex: LogIndex

    var progress = ProgressTracker()
    var votes = VoteTally()
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout: Int
    /// The member leadership is being handed to, while a transfer lasts.
    public internal(set) var transferee: NodeID?
    var reads = ReadIndexQueue()
    /// Reads received before the leader committed an entry of its term (§6.4 step 1).
    var readsAwaitingCommit: [ReadRequest] = []
    var uncommittedBytes = 0
    var rng: SeededRandom

    /// Proposals appended since the last `Ready`: they go out together, one AppendEntries
    /// per member, when the driver asks for the `Ready` (batching).
    var proposalsPending = false
    var outbox: [Message] = []
    var readStates: [ReadState] = []
    var persistedHardState: HardState
    var readyOutstanding = false

    /// Starts (or restarts) a member from what its driver persisted. A founding member of a
    /// new group passes `.bootstrap(initialConfiguration)`; a member added later passes
    /// `.bootstrap(.empty)`.
    public init(id: NodeID, settings: RaftSettings = RaftSettings(), seed: UInt64, restoring state: PersistedState) throws(RaftSettingsError) {
        try settings.validate()
        self.id = id
        self.settings = settings
        self.rng = SeededRandom(seed: seed)
        self.log = RaftLog(snapshot: state.snapshot, entries: state.entries, commit: state.hardState.commit)
        self.term = state.hardState.term
        self.vote = state.hardState.vote
        self.persistedHardState = state.hardState
        (self.configuration, self.configurationIndex) = log.configuration(atOrBefore: log.lastIndex)
        self.randomizedElectionTimeout = settings.electionTicks
        resetElectionTimeout()
    }

    // MARK: views

    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    /// A voter of the current configuration: only these campaign.
    public var isPromotable: Bool { configuration.isVoter(id) }
    /// The leader's view of `member`'s log, or nil on a follower.
    public func progress(of member: NodeID) -> Progress? { role == .leader ? progress[member] : nil }

    // MARK: inputs

    /// One tick of time passed (`settings` counts timeouts in ticks).
    public mutating func tick() {
        switch role {
        case .leader: tickLeader()
        case .follower, .preCandidate, .candidate: tickElection()
        }
    }

    /// A message from another member arrived. Stale, misaddressed and malformed messages
    /// are dropped. Term rules of Raft §5.1 first, with pre-vote and the check-quorum lease.
    public mutating func step(_ m: Message) {
        guard m.to == id, m.from != id, m.isWellFormed else { return }
        if m.term > term {
            if case let .voteRequest(request) = m.body, !request.transfer, inLease {
                // Dissertation §4.2.3: while we hear from a leader, a vote request is most
                // likely from a removed or partitioned node; do not let it disrupt.
                return
            }
            switch m.body {
            case let .voteRequest(request) where request.preVote:
                break // a pre-vote never changes our term
            case let .voteResponse(response) where response.preVote && response.granted:
                break // granted pre-votes carry the term we are about to campaign in
            case .appendEntries, .heartbeat, .installSnapshot:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: nil)
            }
        } else if m.term < term {
            switch m.body {
            case .appendEntries, .heartbeat:
                // A stale leader cut off by a partition would never learn the new term from
                // us otherwise (with pre-vote, we do not campaign against it): tell it.
                if settings.checkQuorum || settings.preVote {
                    send(to: m.from, .appendResponse(AppendResponse(reject: true, index: .zero)))
                }
            case let .voteRequest(request):
                if request.preVote { send(to: m.from, .voteResponse(VoteResponse(granted: false, preVote: true))) }
            default:
                break
            }
            return
        }

        if case let .voteRequest(request) = m.body {
            handleVoteRequest(m, request)
            return
        }
        switch role {
        case .leader: stepLeader(m)
        case .candidate, .preCandidate: stepCandidate(m)
        case .follower: stepFollower(m)
        }
    }

    mutating func stepLeader(_ m: Message) {
        switch m.body {
        case let .appendResponse(response): handleAppendResponse(m, response)
        case let .heartbeatResponse(response): handleHeartbeatResponse(m, response)
        case let .readIndex(request): try? acceptReadIndex(from: m.from, context: request.context)
        default: break // Election Safety: no other leader exists in our term
        }
    }

    mutating func stepCandidate(_ m: Message) {
        switch m.body {
        case .appendEntries, .heartbeat, .installSnapshot:
            // A leader of our term exists (Raft §5.2): follow it.
            becomeFollower(term: m.term, leader: m.from)
            stepFollower(m)
        case let .voteResponse(response): handleVoteResponse(m, response)
        default: break
        }
    }

    mutating func stepFollower(_ m: Message) {
        switch m.body {
        case let .appendEntries(append):
            heardFromLeader(m.from)
            handleAppendEntries(m, append)
        case let .heartbeat(heartbeat):
            heardFromLeader(m.from)
            handleHeartbeat(m, heartbeat)
        case let .installSnapshot(snapshot):
            heardFromLeader(m.from)
            handleInstallSnapshot(m, snapshot)
        case .timeoutNow:
            handleTimeoutNow(m)
        case let .readIndexResponse(response):
            if readStates.count < settings.maxPendingReads {
                readStates.append(ReadState(index: response.index, context: response.context))
            }
        default: break
        }
    }

    mutating func heardFromLeader(_ from: NodeID) {
        electionElapsed = 0
        leader = from
    }

    // MARK: output

    /// True when `ready()` has something for the driver.
    public var hasReady: Bool {
        !outbox.isEmpty || !readStates.isEmpty || log.snapshotPending || log.hasUnstableEntries
            || hardState != persistedHardState || log.hasEntriesToApply
    }

    /// Everything the driver must persist, send and apply since the last `Ready`, in the
    /// order documented on `Ready`. Call `advance(_:)` with it before the next `ready()`.
    public mutating func ready() -> Ready {
        precondition(!readyOutstanding, "ready() called again before advance(_:)")
        readyOutstanding = true
        if proposalsPending {
            proposalsPending = false
            if role == .leader { broadcastAppend() }
        }
        var r = Ready()
        if log.snapshotPending { r.snapshot = log.snapshot }
        r.entries = log.unstableEntries
        if hardState != persistedHardState { r.hardState = hardState }
        r.committedEntries = log.entriesToApply(maxBytes: settings.maxApplyBytesPerReady)
        let early = leaderTermIsDurable
        for m in outbox {
            if early && m.isReplication && m.term == term { r.earlyMessages.append(m) } else { r.messages.append(m) }
        }
        outbox = []
        r.readStates = readStates
        readStates = []
        return r
    }

    /// The driver has done what `ready` asked. The leader now counts its own persisted
    /// entries toward commitment.
    public mutating func advance(_ ready: Ready) {
        precondition(readyOutstanding, "advance(_:) without ready()")
        readyOutstanding = false
        if let s = ready.snapshot { log.snapshotPersisted(s.metadata.index) }
        if let last = ready.entries.last { log.stableTo(last.id) }
        if let hs = ready.hardState { persistedHardState = hs }
        if let last = ready.committedEntries.last { log.applied = max(log.applied, last.index) }
        if role == .leader, var own = progress[id], own.acknowledge(log.stable) {
            progress[id] = own
            if maybeCommit() { broadcastAppend() }
        }
    }

    /// True when this node leads a term whose HardState (term and its own vote) an earlier
    /// `Ready` persisted: its replication messages may leave before the current `Ready`'s
    /// fsync (see `Ready.earlyMessages`).
    var leaderTermIsDurable: Bool {
        role == .leader && persistedHardState.term == term && persistedHardState.vote == vote
    }

    // MARK: shared transitions

    mutating func send(to: NodeID, term: Term? = nil, _ body: MessageBody) {
        outbox.append(Message(from: id, to: to, term: term ?? self.term, body: body))
    }

    mutating func resetElectionTimeout() {
        randomizedElectionTimeout = settings.electionTicks + rng.below(settings.electionTicks)
    }

    /// What every role change shares (etcd `reset`): timers, votes, leader-only state.
    mutating func reset(term newTerm: Term) {
        if newTerm != term {
            term = newTerm
            vote = nil
        }
        leader = nil
        electionElapsed = 0
        heartbeatElapsed = 0
        resetElectionTimeout()
        votes.reset()
        transferee = nil
        progress = ProgressTracker()
        reads.removeAll()
        readsAwaitingCommit.removeAll()
        uncommittedBytes = 0
    }
}
