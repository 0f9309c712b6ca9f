/// The state a node must persist before it answers anyone (Raft Figure 2, "persistent state").
///
/// Invariant: `term` never decreases; `vote` is cast at most once per term; `commit` never
/// decreases and never exceeds the node's last persisted index.
public struct HardState: Hashable, Sendable, CustomStringConvertible {
    public var term: Term
    public var vote: NodeID?
    public var commit: LogIndex

    @inlinable public init(term: Term, vote: NodeID?, commit: LogIndex) {
        self.term = term; self.vote = vote; self.commit = commit
    }

    public static let initial = HardState(term: .zero, vote: nil, commit: .zero)
    public var description: String { "term \(term) vote \(vote.map(\.description) ?? "-") commit \(commit)" }
}
