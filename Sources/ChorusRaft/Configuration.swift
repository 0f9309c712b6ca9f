/// The membership of a Raft group: who votes and who only receives the log.
///
/// Invariants: `voters` and `learners` are each sorted and without duplicates, and no node
/// is both. Iteration order is therefore deterministic (never a `Set`'s order).
public struct Configuration: Hashable, Sendable, CustomStringConvertible {
    public let voters: [NodeID]
    public let learners: [NodeID]

    /// The configuration with these members. A node listed in both is a voter.
    public init(voters: [NodeID], learners: [NodeID] = []) {
        let v = Array(Set(voters)).sorted()
        self.voters = v
        self.learners = Array(Set(learners).subtracting(v)).sorted()
    }

    /// The configuration as read from the wire: nil unless both lists are strictly increasing
    /// and disjoint (the canonical form `init(voters:learners:)` produces).
    public init?(validatingVoters voters: [NodeID], learners: [NodeID]) {
        func strictlyIncreasing(_ a: [NodeID]) -> Bool {
            var i = 1
            while i < a.count { if !(a[i - 1] < a[i]) { return false }; i += 1 }
            return true
        }
        guard strictlyIncreasing(voters), strictlyIncreasing(learners) else { return nil }
        for l in learners where Configuration.sortedContains(voters, l) { return nil }
        self.voters = voters
        self.learners = learners
    }

    public static let empty = Configuration(voters: [])

    /// Voters and learners, sorted.
    public var members: [NodeID] { (voters + learners).sorted() }
    public func isVoter(_ id: NodeID) -> Bool { Configuration.sortedContains(voters, id) }
    public func isLearner(_ id: NodeID) -> Bool { Configuration.sortedContains(learners, id) }
    public func contains(_ id: NodeID) -> Bool { isVoter(id) || isLearner(id) }
    /// Votes (or acknowledgements) needed for a majority of the voters.
    public var quorum: Int { voters.count / 2 + 1 }

    /// The configuration after one single-server change (Raft dissertation §4.1, §4.2.1).
    public func applying(_ change: ConfChange) throws(RaftError) -> Configuration {
        switch change {
        case let .addLearner(id):
            guard !contains(id) else { throw .invalidConfigurationChange("\(id) is already a member") }
            return Configuration(voters: voters, learners: learners + [id])
        case let .promote(id):
            guard isLearner(id) else { throw .invalidConfigurationChange("\(id) is not a learner") }
            return Configuration(voters: voters + [id], learners: learners.filter { $0 != id })
        case let .remove(id):
            guard contains(id) else { throw .invalidConfigurationChange("\(id) is not a member") }
            if isVoter(id) && voters.count == 1 {
                throw .invalidConfigurationChange("\(id) is the last voter")
            }
            return Configuration(voters: voters.filter { $0 != id }, learners: learners.filter { $0 != id })
        }
    }

    static func sortedContains(_ a: [NodeID], _ id: NodeID) -> Bool {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < a.count && a[lo] == id
    }

    public var description: String {
        let v = voters.map(\.description).joined(separator: ",")
        let l = learners.map(\.description).joined(separator: ",")
        return l.isEmpty ? "{\(v)}" : "{\(v) learners \(l)}"
    }
}

/// One single-server membership change (Raft dissertation §4.1): a new node joins as a
/// learner, catches up, and is then promoted; a member of either kind can be removed.
/// Invariant: each case changes the membership of exactly one node.
public enum ConfChange: Hashable, Sendable {
    case addLearner(NodeID)
    case promote(NodeID)
    case remove(NodeID)
}
