/// Single-server membership changes (Raft dissertation §4.1–§4.2).
///
/// - A new node joins as a learner: it receives the log but neither votes nor counts.
///   Once its log reaches the commit index it may be promoted to voter. Any member can be
///   removed.
/// - A configuration entry takes effect as soon as it is appended, on every node, committed
///   or not; truncating it away reverts to the previous configuration.
/// - At most one change is in flight: a new one is refused until the last one commits, and
///   until the leader has committed an entry of its own term (the published fix to the
///   single-server change algorithm).
/// - A leader that removed itself keeps leading until the removal commits, without counting
///   itself, then steps down and asks the most up-to-date voter to campaign at once.
extension RaftNode {
    /// Proposes one membership change; returns the configuration entry's identity.
    @discardableResult
    public mutating func proposeConfChange(_ change: ConfChange) throws(RaftError) -> EntryID {
        try requireLeaderAcceptingProposals()
        guard configurationIndex <= log.committed else { throw .configurationChangeInFlight(index: configurationIndex) }
        guard log.term(at: log.committed) == term else { throw .noCommitInCurrentTerm }
        let next = try configuration.applying(change)
        if case let .promote(learner) = change {
            let match = progress[learner]?.match ?? .zero
            guard match >= log.committed else { throw .learnerBehind(learner, match: match, commit: log.committed) }
        }
        let entry = appendAsLeader(.configuration(next))
        proposalsPending = true
        return entry
    }

    /// Puts `c`, appended at `index`, into effect.
    mutating func applyConfiguration(_ c: Configuration, at index: LogIndex) {
        configuration = c
        configurationIndex = index
        guard role == .leader else { return }
        progress.sync(with: c, leader: id, next: index, settings: settings)
        if let t = transferee, !c.isVoter(t) { transferee = nil }
    }

    /// After the log changed under a follower: the latest configuration entry rules.
    mutating func refreshConfiguration() {
        (configuration, configurationIndex) = log.configuration(atOrBefore: log.lastIndex)
    }

    /// The removal of this leader committed: hand over to the most up-to-date voter.
    mutating func stepDownAfterRemoval() {
        let successor = configuration.voters
            .compactMap { progress[$0] }
            .filter { $0.match == log.lastIndex }
            .first
        becomeFollower(term: term, leader: nil)
        if let successor { send(to: successor.id, .timeoutNow) }
    }
}
