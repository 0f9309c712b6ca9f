@testable import ChorusRaft

/// The safety properties of Raft (Figure 3), checked against every node after every
/// simulation step, plus what the persistence order must guarantee across crashes.
///
/// - Election Safety: at most one leader per term.
/// - Leader Append-Only: while a node leads a term, its log only grows at the end.
/// - Log Matching / committed entries never change: every node's committed prefix equals
///   one global record, and an entry once committed is never replaced there.
/// - Leader Completeness: a new leader holds every entry committed so far.
/// - State Machine Safety: each node applies exactly the recorded entries, in order, no gap.
/// - Votes: a node's persisted vote for a term never changes (one vote per term, even
///   across restarts); its persisted term never decreases.
struct InvariantChecker {
    private var leaderOfTerm: [Term: NodeID] = [:]
    /// The committed entry at each index, as first seen committed on any node.
    private(set) var committed: [Entry?] = [nil]
    private var checkedThrough: [NodeID: LogIndex] = [:]
    private var leaderTail: [NodeID: (term: Term, id: EntryID)] = [:]
    private var lastCommit: [NodeID: LogIndex] = [:]
    private var lastTerm: [NodeID: Term] = [:]
    private var persistedVotes: [NodeID: [Term: NodeID]] = [:]
    private var persistedTerm: [NodeID: Term] = [:]

    var committedCount: Int { committed.count - 1 }

    private func record(_ i: LogIndex) -> Entry? {
        i.value < UInt64(committed.count) ? committed[Int(i.value)] : nil
    }

    private mutating func commitRecord(_ e: Entry) -> String? {
        let i = Int(e.index.value)
        while committed.count <= i { committed.append(nil) }
        if let known = committed[i] {
            if known != e { return "committed entry changed at \(e.index): \(known) then \(e)" }
        } else {
            committed[i] = e
        }
        return nil
    }

    /// A node restarted from storage: forget what only its memory held.
    mutating func restarted(_ id: NodeID, _ node: RaftNode) {
        checkedThrough[id] = node.log.snapshotIndex
        leaderTail[id] = nil
        lastCommit[id] = node.log.committed
        lastTerm[id] = node.term
    }

    mutating func check(_ node: RaftNode) -> String? {
        let id = node.id
        let log = node.log
        if let t = lastTerm[id], node.term < t { return "\(id) term went back from \(t) to \(node.term)" }
        lastTerm[id] = node.term
        if let c = lastCommit[id], log.committed < c { return "\(id) commit went back from \(c) to \(log.committed)" }
        lastCommit[id] = log.committed

        // Committed prefix against the global record.
        var from = (checkedThrough[id] ?? .zero) + 1
        if log.snapshotIndex >= from {
            if let r = record(log.snapshotIndex), r.term != log.snapshot.metadata.term {
                return "\(id) snapshot \(log.snapshotIndex)@\(log.snapshot.metadata.term) disagrees with committed \(r)"
            }
            from = log.snapshotIndex + 1
        }
        var i = from
        while i <= log.committed {
            guard let e = log.entry(at: i) else { return "\(id) lacks committed entry \(i)" }
            if let problem = commitRecord(e) { return "\(id): \(problem)" }
            i = i + 1
        }
        checkedThrough[id] = max(checkedThrough[id] ?? .zero, log.committed)

        guard node.role == .leader else {
            leaderTail[id] = nil
            return nil
        }
        if let other = leaderOfTerm[node.term], other != id {
            return "two leaders in term \(node.term): \(other) and \(id)"
        }
        leaderOfTerm[node.term] = id
        if let tail = leaderTail[id], tail.term == node.term {
            if log.lastIndex < tail.id.index { return "leader \(id) log shrank from \(tail.id.index) to \(log.lastIndex)" }
            if let t = log.term(at: tail.id.index), t != tail.id.term {
                return "leader \(id) overwrote its entry \(tail.id) with term \(t)"
            }
        } else {
            // Newly elected: Leader Completeness against everything committed so far.
            var j = log.snapshotIndex + 1
            while j.value < UInt64(committed.count) {
                if let r = committed[Int(j.value)], log.term(at: j) != r.term {
                    return "leader \(id) of term \(node.term) lacks committed entry \(r.id)"
                }
                j = j + 1
            }
        }
        leaderTail[id] = (node.term, log.lastID)
        return nil
    }

    /// A node applied `entry` after applying `previous`.
    mutating func applied(_ entry: Entry, by id: NodeID, after previous: LogIndex) -> String? {
        guard entry.index == previous + 1 else { return "\(id) applied \(entry.index) after \(previous)" }
        if let problem = commitRecord(entry) { return "\(id) applied: \(problem)" }
        return nil
    }

    /// A node restored its state machine from `snapshot`.
    func restored(_ snapshot: SnapshotMetadata, by id: NodeID) -> String? {
        if let r = record(snapshot.index), r.term != snapshot.term {
            return "\(id) restored \(snapshot) over committed \(r.id)"
        }
        return nil
    }

    /// The driver persisted `hardState` for `id`.
    mutating func persisted(_ hardState: HardState, by id: NodeID) -> String? {
        if let t = persistedTerm[id], hardState.term < t { return "\(id) persisted term went back from \(t) to \(hardState.term)" }
        persistedTerm[id] = hardState.term
        if let v = hardState.vote {
            if let earlier = persistedVotes[id]?[hardState.term], earlier != v {
                return "\(id) voted for \(earlier) and \(v) in term \(hardState.term)"
            }
            persistedVotes[id, default: [:]][hardState.term] = v
        }
        return nil
    }

    /// Log Matching across all pairs: where two logs hold an entry with the same index and
    /// term, they agree on every entry before it (that both still hold).
    static func logsMatch(_ nodes: [RaftNode]) -> String? {
        for a in nodes.indices {
            for b in nodes.indices where a < b {
                let la = nodes[a].log, lb = nodes[b].log
                let low = max(la.firstIndex, lb.firstIndex)
                var i = min(la.lastIndex, lb.lastIndex)
                // The highest index where both agree…
                while i >= low, la.term(at: i) != lb.term(at: i) { i = i - 1 }
                // …and below it they must agree everywhere.
                while i >= low {
                    if la.entry(at: i) != lb.entry(at: i) {
                        return "logs of \(nodes[a].id) and \(nodes[b].id) differ at \(i) below a matching entry"
                    }
                    i = i - 1
                }
            }
        }
        return nil
    }
}
