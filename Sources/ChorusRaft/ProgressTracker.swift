/// The leader's `Progress` for every member of the configuration, the leader included.
///
/// Invariants: entries are sorted by node id with one per member, so every walk over them
/// is in a fixed order (never a dictionary's); the leader's own entry counts only what it
/// has persisted (Raft §10.2.1: the leader may send before its own write, but counts itself
/// toward a commit only after it).
struct ProgressTracker: Sendable {
    private(set) var all: [Progress] = []

    init() {}

    /// Fresh progress for a new leader: every follower in probe at `lastIndex + 1`, the
    /// leader replicating at what it has persisted (etcd `becomeLeader`).
    init(configuration: Configuration, leader: NodeID, persisted: LogIndex, lastIndex: LogIndex, settings: RaftSettings) {
        var ids = configuration.members
        if !configuration.contains(leader) { ids = (ids + [leader]).sorted() }
        all = ids.map { id in
            var p = Progress(id: id, match: .zero, next: lastIndex + 1, settings: settings)
            if id == leader {
                p.match = persisted
                p.becomeReplicate()
                p.next = lastIndex + 1
                p.recentActive = true
            }
            return p
        }
    }

    private func position(of id: NodeID) -> Int? {
        var lo = 0, hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if all[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < all.count && all[lo].id == id ? lo : nil
    }

    subscript(id: NodeID) -> Progress? {
        get { position(of: id).map { all[$0] } }
        set {
            guard let p = position(of: id), let newValue else { return }
            all[p] = newValue
        }
    }

    /// Adds progress for members new in `configuration` (at `next`), drops it for members
    /// that left; the leader keeps its own.
    mutating func sync(with configuration: Configuration, leader: NodeID, next: LogIndex, settings: RaftSettings) {
        var kept = all.filter { configuration.contains($0.id) || $0.id == leader }
        for id in configuration.members where !kept.contains(where: { $0.id == id }) {
            kept.append(Progress(id: id, match: .zero, next: next, settings: settings))
        }
        all = kept.sorted { $0.id < $1.id }
    }

    /// The highest index held by a majority of the voters (Raft §5.3, §5.4): sort the
    /// voters' match indices descending and take the quorum-th.
    func quorumMatch(_ configuration: Configuration) -> LogIndex {
        let voters = configuration.voters
        guard !voters.isEmpty else { return .zero }
        let matches = voters.map { self[$0]?.match ?? .zero }.sorted(by: >)
        return matches[configuration.quorum - 1]
    }

    /// True when a majority of voters were heard from since the last reset (check-quorum).
    func quorumActive(_ configuration: Configuration, leader: NodeID) -> Bool {
        let active = configuration.voters.filter { $0 == leader || self[$0]?.recentActive == true }.count
        return active >= configuration.quorum
    }

    mutating func resetRecentActive(leader: NodeID) {
        for i in all.indices { all[i].recentActive = all[i].id == leader }
    }
}
