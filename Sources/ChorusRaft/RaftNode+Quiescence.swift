/// What a driver needs to stop ticking an idle group and start it again (CockroachDB's range
/// quiescence). The core keeps no quiescent flag: a driver that stops calling `tick()` has
/// quiesced the group; these are the questions it must ask first and the resets it must make
/// when it starts ticking again.
///
/// Invariant: none of these changes a term, a vote, a log or a commit index — quiescence only
/// decides when time passes, so Raft's safety does not depend on it.
extension RaftNode {
    /// True when this leader has nothing left to do but heartbeat: no proposal, read, transfer
    /// or configuration change in flight, its own log persisted and applied through its last
    /// entry, which every member holds (in probe or replicate state alike: a member the
    /// transport reported unreachable stays in probe once it is back and matches, since
    /// nothing is left to append), and no message waiting. (Whether every
    /// member was heard from recently is `membersRecentlyActive`: check-quorum clears it every
    /// election timeout, so a driver counting idle ticks must not start over on it.)
    public var isQuiesceable: Bool {
        guard role == .leader, transferee == nil, !proposalsPending, outbox.isEmpty, reads.count == 0,
              readsAwaitingCommit.isEmpty, !readyOutstanding, !hasReady else { return false }
        let last = log.lastIndex
        guard log.committed == last, log.applied == last, log.stable == last, configurationIndex <= log.committed,
              log.term(at: last) == term else { return false }
        return progress.all.allSatisfy { p in
            if case .snapshot = p.state, p.id != id { return false }
            return p.match == last
        }
    }

    /// True on a leader when every member answered since check-quorum last looked.
    public var membersRecentlyActive: Bool {
        role == .leader && progress.all.allSatisfy { $0.id == id || $0.recentActive }
    }

    /// True when this follower may stop ticking on its leader's word: `from` is the leader it
    /// follows in `term`, and its log ends at `commit`, all of it committed.
    public func mayQuiesce(following from: NodeID, term: Term, commit: LogIndex) -> Bool {
        role == .follower && self.term == term && leader == from && log.lastIndex == commit && log.committed == commit
            && log.matchTerm(commit, term)
    }

    /// The group is ticked again after a pause. A leader treats every member as heard from
    /// (its quorum check restarts from now, not from before the pause) and heartbeats at once;
    /// a follower starts a fresh election timeout, as if it had just heard from its leader.
    public mutating func resumeTicking() {
        electionElapsed = 0
        switch role {
        case .leader:
            for member in progress.all.map(\.id) {
                if var p = progress[member] { p.recentActive = true; progress[member] = p }
            }
            heartbeatElapsed = 0
            broadcastHeartbeat()
        case .follower, .preCandidate, .candidate:
            break
        }
    }

    /// The liveness source (membership) says the leader is gone: stop honouring its lease, so
    /// this member grants votes at once (etcd's `ForgetLeader`), and campaign within the next
    /// 1 to `electionTicks / 2` ticks instead of a whole election timeout — a random delay, so
    /// the followers that heard the same verdict at once do not split the vote. A leader
    /// ignores it.
    public mutating func forgetLeader() {
        guard role == .follower else { return }
        leader = nil
        electionElapsed = max(0, randomizedElectionTimeout - 1 - rng.below(max(1, settings.electionTicks / 2)))
    }
}
