import ChorusRaft
import ChorusRing

/// Quiescent groups (CockroachDB's range quiescence): an idle group stops heartbeating and is
/// no longer ticked, so an idle host costs O(awake groups) per tick, not O(groups).
///
/// Rules, in one place:
/// - A leader quiesces a group after `settings.quiesceAfterTicks` ticks in a row in which it
///   was idle (`RaftNode.isQuiesceable`: every member holds, and was recently heard
///   acknowledging, the whole committed and applied log; nothing in flight) and the host had
///   nothing for it either (no proposal or read waiting, no snapshot moving, no placement
///   step due). It sends each member a quiescent heartbeat (`ShardBatch.quiescentHeartbeats`)
///   and stops ticking the group.
/// - A follower that gets one from the leader it follows, in its term, with its whole log
///   committed at the heartbeat's commit index, stops ticking too.
/// - A quiescent leader wakes on a proposal, a read, a transfer, a changed placement target,
///   or any message but a heartbeat answer; a quiescent follower on any message but a
///   quiescent heartbeat, a stale answer, or a vote request while its leader is available
///   (the lease holds it: it would refuse anyway, and waking would make it campaign later
///   against a healthy leader).
/// - Liveness of a quiescent group's leader comes from membership (`setUnavailable`): when
///   the leader's node becomes suspect, dead or left, its quiescent followers wake, forget
///   its lease and campaign within a few ticks (pre-vote first; `RaftNode.forgetLeader`). When a node is available again, the
///   quiescent groups this node leads that include it wake, so it hears heartbeats again and
///   does not campaign against them (a member that restarts faster than the detector notices
///   wakes the leader with its first pre-vote request anyway).
///
/// Invariant: quiescence only decides which groups are ticked; it never changes a term, a
/// vote, a log or a commit index, so Raft's safety does not depend on it. `awake` is sorted
/// and disjoint from `quiescent`; together they are exactly `order`.
extension ShardHost {
    /// True while `shard`'s replica here is not ticked.
    public func isQuiescent(_ shard: ShardID) -> Bool { quiescent.contains(shard) }

    /// True while anything here counts ticks: an awake group, a snapshot moving either way,
    /// a read waiting for its index, or work the next drive settles. A host with none of
    /// these may go without ticks for as long as its driver likes: a quiescent group wakes
    /// on an input (a message, a proposal, a read, a changed target or availability), never
    /// on a tick, and a group that wakes is awake until it quiesces again.
    public var needsTicks: Bool {
        !awake.isEmpty || !snapshotsOut.isEmpty || !snapshotsIn.isEmpty || !readsWaiting.isEmpty || !readsIndexed.isEmpty
            || hasReady
    }

    /// Groups ticked, and groups quiescent, on this node.
    public var awakeCount: Int { awake.count }
    public var quiescentCount: Int { quiescent.count }

    /// The Raft ids membership currently reports suspect, dead or left. Followers of quiescent
    /// groups led by a node that just became unavailable wake and campaign; quiescent groups
    /// this node leads wake when one of their members is available again.
    public mutating func setUnavailable(_ nodes: Set<NodeID>) {
        guard nodes != unavailable else { return }
        let gone = nodes.subtracting(unavailable)
        let back = unavailable.subtracting(nodes)
        unavailable = nodes
        for shard in quiescent.sorted() {
            guard var r = replicas.removeValue(forKey: shard) else { continue }
            defer { replicas[shard] = r }
            switch r.node.role {
            case .leader:
                if r.node.configuration.members.contains(where: back.contains) { wake(&r, shard: shard) }
            case .follower, .preCandidate, .candidate:
                guard let leader = r.node.leader, gone.contains(leader) else { continue }
                wake(&r, shard: shard)
                r.node.forgetLeader()
                counters.leaderLossCampaigns += 1
            }
        }
    }

    // MARK: internals

    mutating func insertAwake(_ shard: ShardID) {
        let at = awake.firstIndex { $0 >= shard } ?? awake.endIndex
        if at == awake.endIndex || awake[at] != shard { awake.insert(shard, at: at) }
    }

    mutating func removeAwake(_ shard: ShardID) {
        if let at = awake.firstIndex(of: shard) { awake.remove(at: at) }
    }

    /// Starts ticking a quiescent group again (the replica is taken out of the table).
    mutating func wake(_ r: inout ShardReplica<Machine>, shard: ShardID) {
        guard quiescent.remove(shard) != nil else { return }
        insertAwake(shard)
        r.idleTicks = 0
        r.node.resumeTicking()
        counters.groupsWoken += 1
    }

    /// Wakes `shard` if it is quiescent (a request for it arrived).
    mutating func wakeIfQuiescent(_ shard: ShardID) {
        guard quiescent.contains(shard), var r = replicas.removeValue(forKey: shard) else { return }
        wake(&r, shard: shard)
        replicas[shard] = r
    }

    /// Called by `tick` for each awake leader before its Raft tick: counts idle ticks and says
    /// when the group should quiesce now.
    mutating func idleLongEnough(_ r: inout ShardReplica<Machine>, shard: ShardID) -> Bool {
        guard let after = settings.quiesceAfterTicks, r.node.role == .leader, hostIdle(r, shard: shard), r.node.isQuiesceable else {
            r.idleTicks = 0
            return false
        }
        r.idleTicks += 1
        // Every member must have answered lately too; check-quorum clears that every election
        // timeout, so waiting for it does not start the count over.
        return r.idleTicks >= after && r.node.membersRecentlyActive
    }

    func hostIdle(_ r: ShardReplica<Machine>, shard: ShardID) -> Bool {
        guard r.pending.isEmpty, r.removalAppliedAtTick == nil, snapshotsIn[shard] == nil,
              readsWaiting.isEmpty || !readsWaiting.values.contains(shard),
              !readsIndexed.contains(where: { $0.shard == shard }),
              snapshotsOut.isEmpty || !snapshotsOut.keys.contains(where: { $0.shard == shard }) else { return false }
        guard let target = targets[shard] else { return true }
        let node = r.node
        return Rebalancer.next(configuration: node.configuration, leader: id, target: target, commit: node.log.committed) { member in
            node.progress(of: member).map { Rebalancer.Follower(match: $0.match, recentlyActive: $0.recentActive) }
        } == nil
    }

    /// The leader stops ticking `shard` and tells every other member to do the same.
    mutating func quiesceLeader(_ shard: ShardID) {
        guard let r = replicas[shard], r.node.role == .leader else { return }
        removeAwake(shard)
        quiescent.insert(shard)
        counters.groupsQuiesced += 1
        let heartbeat = ShardBatch.Heartbeat(shard: shard, term: r.node.term, commit: r.node.log.committed)
        for member in r.node.configuration.members where member != id {
            quiescentNotices[member, default: []].append(heartbeat)
        }
    }

    /// A quiescent heartbeat from `from`: an ordinary heartbeat first, then the follower
    /// quiesces if its term and log match the leader's.
    mutating func receiveQuiescent(_ h: ShardBatch.Heartbeat, from: NodeID, to: NodeID) {
        deliver(Message(from: from, to: to, term: h.term, body: .heartbeat(Heartbeat(commit: h.commit))), shard: h.shard, quiescentHeartbeat: true)
        guard !quiescent.contains(h.shard), let r = replicas[h.shard],
              r.node.mayQuiesce(following: from, term: h.term, commit: h.commit) else { return }
        removeAwake(h.shard)
        quiescent.insert(h.shard)
        counters.groupsQuiesced += 1
    }

    /// Whether message `m` wakes the quiescent replica `r` before it is stepped.
    func wakes(_ r: ShardReplica<Machine>, on m: Message, quiescentHeartbeat: Bool) -> Bool {
        switch r.node.role {
        case .leader:
            if case .heartbeatResponse = m.body { return false }
            return true
        case .follower, .preCandidate, .candidate:
            switch m.body {
            case .heartbeat: return !quiescentHeartbeat
            case .voteRequest: return r.node.leader.map(unavailable.contains) ?? true
            case .voteResponse, .appendResponse, .heartbeatResponse, .readIndex: return false
            case .appendEntries, .installSnapshot, .timeoutNow, .readIndexResponse: return true
            }
        }
    }
}
