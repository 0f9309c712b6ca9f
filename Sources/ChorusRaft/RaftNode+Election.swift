/// Leader election (Raft §5.2, §5.4.1), pre-vote (dissertation §9.6) and check-quorum
/// (dissertation §6.2, §4.2.3).
///
/// - A follower that hears nothing from a leader for its randomized election timeout
///   campaigns: first a pre-vote at `term + 1` without changing anything, then — if a
///   majority would vote — a real election in `term + 1`.
/// - A vote is granted at most once per term, and only to a candidate whose log is at least
///   as up-to-date as ours (Election Restriction, §5.4.1).
/// - A leader that has not heard from a majority within an election timeout steps down; a
///   follower that hears from a leader ignores vote requests for that long (the lease).
extension RaftNode {
    /// Starts an election now, as if the election timeout had passed (etcd's MsgHup).
    public mutating func campaign() { startElection(transfer: false) }

    /// A follower's clock (etcd `tickElection`).
    mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            startElection(transfer: false)
        }
    }

    /// The leader's clock (etcd `tickHeartbeat`): heartbeats, check-quorum, transfer timeout.
    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= settings.electionTicks {
            electionElapsed = 0
            if settings.checkQuorum {
                if !progress.quorumActive(configuration, leader: id) {
                    becomeFollower(term: term, leader: nil)
                    return
                }
                progress.resetRecentActive(leader: id)
            }
            // A transfer that did not finish within an election timeout is abandoned (§3.10).
            transferee = nil
        }
        retryLostSnapshots()
        if heartbeatElapsed >= settings.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// True while this follower hears from a leader: it then refuses to help depose it.
    var inLease: Bool {
        settings.checkQuorum && leader != nil && electionElapsed < settings.electionTicks
    }

    mutating func startElection(transfer: Bool) {
        guard role != .leader, isPromotable else { return }
        if settings.preVote && !transfer {
            becomePreCandidate()
        } else {
            becomeCandidate()
        }
        solicitVotes(transfer: transfer)
    }

    /// Votes for ourselves and asks every other voter.
    mutating func solicitVotes(transfer: Bool) {
        let preVote = role == .preCandidate
        let electionTerm = preVote ? term.next : term
        votes.record(id, granted: true)
        if votes.result(configuration) == .won {
            electionWon()
            return
        }
        let request = VoteRequest(lastIndex: log.lastIndex, lastTerm: log.lastTerm, preVote: preVote, transfer: transfer)
        for voter in configuration.voters where voter != id {
            send(to: voter, term: electionTerm, .voteRequest(request))
        }
    }

    mutating func electionWon() {
        if role == .preCandidate {
            becomeCandidate()
            solicitVotes(transfer: false)
        } else {
            becomeLeader()
        }
    }

    /// Raft §5.2 and §5.4.1; for pre-votes the same test against the proposed term.
    mutating func handleVoteRequest(_ m: Message, _ request: VoteRequest) {
        let mayVote = vote == m.from
            || (vote == nil && leader == nil)
            || (request.preVote && m.term > term)
        if mayVote && log.isUpToDate(lastIndex: request.lastIndex, lastTerm: request.lastTerm) {
            // The answer carries the candidate's term, so a granted pre-vote is counted in
            // the round it belongs to.
            send(to: m.from, term: m.term, .voteResponse(VoteResponse(granted: true, preVote: request.preVote)))
            if !request.preVote {
                vote = m.from
                electionElapsed = 0
            }
        } else {
            send(to: m.from, .voteResponse(VoteResponse(granted: false, preVote: request.preVote)))
        }
    }

    mutating func handleVoteResponse(_ m: Message, _ response: VoteResponse) {
        guard response.preVote == (role == .preCandidate) else { return }
        votes.record(m.from, granted: response.granted)
        switch votes.result(configuration) {
        case .won: electionWon()
        case .lost: becomeFollower(term: term, leader: nil)
        case .pending: break
        }
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: NodeID?) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    mutating func becomePreCandidate() {
        // etcd: neither term nor vote change; only the leader is forgotten.
        votes.reset()
        leader = nil
        electionElapsed = 0
        resetElectionTimeout()
        role = .preCandidate
    }

    mutating func becomeCandidate() {
        reset(term: term.next)
        vote = id
        role = .candidate
    }

    /// Raft §5.2, §8: the new leader appends an empty entry of its term so that everything
    /// before it gets committed, and starts replicating.
    mutating func becomeLeader() {
        reset(term: term)
        role = .leader
        leader = id
        progress = ProgressTracker(configuration: configuration, leader: id, persisted: log.stable,
                                   lastIndex: log.lastIndex, settings: settings)
        // Entries after commit are uncommitted work the budget must count.
        uncommittedBytes = log.bytes(after: log.committed, through: log.lastIndex)
        appendAsLeader(.noop)
        broadcastAppend()
    }
}
