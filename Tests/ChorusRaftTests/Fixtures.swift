import ChorusRaft

extension RaftSettings {
    /// The algorithm of the Raft paper alone: no pre-vote, no check-quorum.
    static var paper: RaftSettings {
        var s = RaftSettings()
        s.preVote = false
        s.checkQuorum = false
        return s
    }
}

/// A log with the given terms at indices 1, 2, 3, ...; payloads name their position.
func entries(_ terms: [UInt64]) -> [Entry] {
    terms.enumerated().map { i, t in
        Entry(index: LogIndex(UInt64(i + 1)), term: Term(t), payload: .command(Array("\(i + 1)@\(t)".utf8)))
    }
}

func persisted(term: UInt64, log terms: [UInt64], voters: [UInt64], vote: UInt64? = nil, commit: UInt64 = 0) -> PersistedState {
    PersistedState(hardState: HardState(term: Term(term), vote: vote.map(NodeID.init), commit: LogIndex(commit)),
                   snapshot: .bootstrap(Configuration(voters: voters.map(NodeID.init))),
                   entries: entries(terms))
}

func ids(_ values: [UInt64]) -> [NodeID] { values.map(NodeID.init) }
