import ChorusRaft

/// The rules by which a group's leader moves the group toward its placement, one
/// single-server change at a time (Raft dissertation §4.1–4.3). Pure: the leader's view in,
/// one step out.
///
/// In order of precedence:
/// 1. A learner that is not in the target is removed (learners never count for a quorum).
/// 2. A target learner whose log has reached the commit index and that answers is promoted.
/// 3. A target node that is not a member is added as a learner, one learner at a time.
/// 4. Only once every target node is a voter (so every replacement has caught up):
///    a. a leader that is not in the target hands leadership to the most up-to-date target
///       voter that answers (the new leader then removes it);
///    b. a voter that is not in the target is removed, if the remaining voters still hold a
///       quorum of members that answer and have the commit index;
///    c. once the group is exactly its target, leadership goes to the target's first replica
///       (the shard's primary on the ring) if it answers and has the commit index — so
///       leaders spread over the nodes as evenly as primaries do, instead of piling up on
///       the nodes that were there first.
///
/// Invariants: the group never drops below a quorum of caught-up voters because of a step
/// from here, and no member is removed before its replacement is a caught-up voter.
public enum Rebalancer {
    /// One step toward the target.
    public enum Step: Hashable, Sendable {
        case addLearner(NodeID)
        case promote(NodeID)
        case remove(NodeID)
        case transferLeadership(to: NodeID)
    }

    /// The leader's view of one member, as `Progress` gives it.
    public struct Follower: Sendable, Hashable {
        public var match: LogIndex
        public var recentlyActive: Bool
        public init(match: LogIndex, recentlyActive: Bool) { self.match = match; self.recentlyActive = recentlyActive }
    }

    /// The next step for a group led by `leader` whose placement is `target`, or nil when the
    /// group is where it should be (or must wait). `follower(id)` is the leader's view of a
    /// member; the leader itself counts as caught up.
    public static func next(configuration c: Configuration, leader: NodeID, target: [NodeID], commit: LogIndex,
                            follower: (NodeID) -> Follower?) -> Step? {
        guard !target.isEmpty else { return nil }
        func caughtUp(_ id: NodeID) -> Bool {
            if id == leader { return true }
            guard let f = follower(id) else { return false }
            return f.recentlyActive && f.match >= commit
        }
        let wanted = Set(target)
        // 1.
        if let stray = c.learners.first(where: { !wanted.contains($0) }) { return .remove(stray) }
        // 2.
        if let ready = c.learners.first(where: { wanted.contains($0) && caughtUp($0) }) { return .promote(ready) }
        // 3.
        if c.learners.isEmpty, let missing = target.first(where: { !c.contains($0) }) { return .addLearner(missing) }
        guard target.allSatisfy({ c.isVoter($0) }) else { return nil }
        // 4a.
        if !wanted.contains(leader) {
            let candidates = target.filter(caughtUp).map { (id: $0, match: follower($0)?.match ?? .zero) }
            let best = candidates.sorted { $0.match != $1.match ? $0.match > $1.match : $0.id < $1.id }.first
            return best.map { .transferLeadership(to: $0.id) }
        }
        // 4b.
        for extra in c.voters where !wanted.contains(extra) && extra != leader {
            let remaining = c.voters.filter { $0 != extra }
            if remaining.filter(caughtUp).count >= remaining.count / 2 + 1 { return .remove(extra) }
        }
        // 4c.
        if c.voters.count == target.count, let primary = target.first, primary != leader, caughtUp(primary) {
            return .transferLeadership(to: primary)
        }
        return nil
    }
}
