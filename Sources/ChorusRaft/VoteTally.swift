/// The votes a candidate has received in one election (or pre-vote round).
/// Invariant: each voter's first answer counts and later ones are ignored; the result
/// counts only members of the configuration given, so learners' answers never decide.
struct VoteTally: Sendable {
    enum Result: Equatable { case won, lost, pending }

    private var answers: [(id: NodeID, granted: Bool)] = []

    mutating func record(_ id: NodeID, granted: Bool) {
        guard !answers.contains(where: { $0.id == id }) else { return }
        answers.append((id, granted))
    }

    func result(_ configuration: Configuration) -> Result {
        var granted = 0, rejected = 0
        for a in answers where configuration.isVoter(a.id) {
            if a.granted { granted += 1 } else { rejected += 1 }
        }
        if granted >= configuration.quorum { return .won }
        if rejected > configuration.voters.count - configuration.quorum { return .lost }
        return .pending
    }

    mutating func reset() { answers.removeAll() }
}
