/// The Raft state a group must find again after a crash before it may vote or acknowledge:
/// current term, the vote cast in it, and the commit index (Raft §5.1, Figure 2 "persistent
/// state"; commit is kept too so a restart need not wait to relearn it).
/// Invariant: the log stores these numbers as given and returns the latest ones set for a
/// group; `vote == 0` means "voted for nobody". Storage does not interpret them.
public struct HardState: Hashable, Sendable, CustomStringConvertible {
    public var term: UInt64
    public var vote: UInt64
    public var commit: UInt64

    @inlinable public init(term: UInt64, vote: UInt64, commit: UInt64) {
        self.term = term; self.vote = vote; self.commit = commit
    }

    public static let empty = HardState(term: 0, vote: 0, commit: 0)
    public var description: String { "term \(term) vote \(vote) commit \(commit)" }
}
