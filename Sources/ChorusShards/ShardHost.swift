import ChorusBase
import ChorusRaft
import ChorusRing

/// Many Raft groups on one node, as one deterministic state machine (sans-I/O): one tick
/// drives every group, messages for all groups shared with a peer node travel in one
/// `ShardBatch` with coalesced heartbeats, and one `HostReady` asks the driver to persist
/// every group's state under one fsync (dragonboat's and TiKV's "many groups, one log").
///
/// Groups appear in three ways: `bootstrap` (the node that founds the cluster creates every
/// shard with itself as the only voter), `init(restoring:)` (what the driver persisted), and
/// on demand when a leader of a group this node is not yet part of sends it entries (the
/// leader added it as a learner). They disappear when this node applies the committed
/// configuration that removed it. Leaders move their groups toward the placement the ring
/// gives (`setTargets`) following `Rebalancer`'s rules.
///
/// Where the rules live: placement-driven reconfiguration in `Rebalancer`; the Raft rules in
/// ChorusRaft; the order in which a driver persists and sends in `HostReady`; the apply path
/// and exactly-once replies in `ShardHost+Apply.swift`; snapshot images streamed in chunks in
/// `ShardHost+Snapshots.swift`; splitting a batch into frames in `ShardBatchCodec+Frames.swift`;
/// idle groups that stop ticking, and what wakes them, in `ShardHost+Quiescence.swift`.
///
/// Invariants: no decision follows a `Dictionary` order (`order` lists hosted shards sorted);
/// a batch from another shard set (`epoch`) is dropped; membership verdicts only ever change
/// targets, never a Raft vote or commit (split-brain guard: safety is Raft's alone).
public struct ShardHost<Machine: ReplicatedStateMachine>: Sendable {
    public let id: NodeID
    public let settings: ShardHostSettings
    /// The shard set this node belongs to (nil until it founds one or is added to one).
    public internal(set) var epoch: UInt64?
    var epochUnpersisted = false
    var replicas = ShardReplicaTable<Machine>()
    /// Hosted shards, sorted: the only order in which replicas are visited.
    public private(set) var order: [ShardID] = []
    /// The hosted shards that are ticked (sorted), and those quiescent (`ShardHost+Quiescence`).
    var awake: [ShardID] = []
    var quiescent: Set<ShardID> = []
    /// Raft ids that membership reports suspect, dead or left.
    var unavailable: Set<NodeID> = []
    /// Quiescent heartbeats to send with the next batches, by member.
    var quiescentNotices: [NodeID: [ShardBatch.Heartbeat]] = [:]
    var targets: [ShardID: [NodeID]] = [:]
    var ticks = 0
    var rng: SeededRandom
    var removedUnpersisted: [ShardID] = []
    var compactionsUnpersisted: [(shard: ShardID, snapshot: Snapshot)] = []
    var readyOutstanding = false
    /// Reads waiting for their ReadState and then for `applied ≥ index`: token → shard.
    var readsWaiting: [UInt64: ShardID] = [:]
    var readsIndexed: [(shard: ShardID, index: LogIndex, token: UInt64)] = []
    var repliesOutstanding: [ShardReply] = []
    /// Events the machines produced (in apply order) and leadership gained or lost, for the
    /// driver (`takeEvents`, `takeLeadershipChanges`).
    var events: [(shard: ShardID, event: Machine.Event)] = []
    var leadershipChanges: [(shard: ShardID, leading: Bool)] = []
    /// Removal notices to send with the next batches, by member.
    var removalNotices: [NodeID: [ShardBatch.Removal]] = [:]
    /// Snapshot images this node streams as a leader, by member and shard; images it
    /// assembles as a member, by shard; and the answers to chunks it owes (`SnapshotChunk`).
    var snapshotsOut: [SnapshotTransferKey: SnapshotSending] = [:]
    var snapshotsIn: [ShardID: SnapshotReceiving] = [:]
    var snapshotAcksOut: [NodeID: [SnapshotChunkAck]] = [:]
    /// The bodies of streamed snapshots being received while this node keeps bodies in memory.
    var stagedBodies: [ShardID: StagedBodies] = [:]
    public internal(set) var counters = ShardHostCounters()
    /// Set when a replica's state can no longer be trusted (a snapshot it installed cannot
    /// be read): the driver must stop the node. `ShardStore.drive` throws it.
    public internal(set) var failure: ShardStorageFailure?
    /// Where the machines keep their files (queue bodies), and the local snapshots and
    /// transfers that depend on them (`ShardHost+LocalFiles.swift`).
    public let bodyStores: ShardBodyStores
    var localFiles = LocalFileSnapshots()

    /// Restarts a host from what its driver persisted (`restoring`), or starts an empty one.
    public init(id: NodeID, settings: ShardHostSettings = ShardHostSettings(), seed: UInt64,
                epoch: UInt64?, restoring groups: [ShardID: PersistedState] = [:], bodyStores: ShardBodyStores = .memory) throws {
        try settings.validate()
        self.id = id
        self.bodyStores = bodyStores
        self.settings = settings
        self.epoch = epoch
        self.rng = SeededRandom(seed: seed)
        for shard in groups.keys.sorted() {
            guard let state = groups[shard] else { continue }
            try addReplica(shard, state)
        }
    }

    /// Founds the shard set: every shard a group with this node as its only voter. Only for
    /// the first node of a new cluster with no stored groups.
    public mutating func bootstrap(shards: [ShardID], epoch: UInt64) throws {
        precondition(replicas.isEmpty && self.epoch == nil, "bootstrap of a host that already has shards")
        precondition(epoch != 0)
        self.epoch = epoch
        epochUnpersisted = true
        for shard in shards.sorted() {
            let founding = PersistedState.bootstrap(Configuration(voters: [id]))
            try addReplica(shard, founding)
            // The founding configuration lives only in this index-0 snapshot: no log entry
            // holds it. Unless the driver stores it, a founder that restarts before its first
            // membership change comes back with an empty configuration, never campaigns, and
            // drops the group as an orphan.
            compactionsUnpersisted.append((shard, founding.snapshot))
            replicas[shard]?.node.campaign()
        }
    }

    mutating func addReplica(_ shard: ShardID, _ state: PersistedState) throws {
        let node = try RaftNode(id: id, settings: settings.raft, seed: rng.next() | 1, restoring: state)
        let machine: Machine, ledger: RequestLedger
        do {
            (machine, ledger) = try ShardReplica<Machine>.restore(state.snapshot.data, shard: shard, ledgerCapacity: settings.ledgerCapacity,
                                                                  bodyStores: bodyStores)
        } catch {
            throw ShardStorageFailure(shard: shard, index: state.snapshot.metadata.index, reason: "\(error)")
        }
        var replica = ShardReplica(node: node, machine: machine, ledger: ledger)
        replica.appliedConfiguration = state.snapshot.metadata.configuration
        replicas[shard] = replica
        let at = order.firstIndex { $0 > shard } ?? order.endIndex
        order.insert(shard, at: at)
        quiescent.remove(shard)
        insertAwake(shard)
    }

    mutating func dropReplica(_ shard: ShardID, reason: String) {
        guard let r = replicas.removeValue(forKey: shard) else { return }
        replicas[shard] = nil
        forgetLocalFiles(of: r, shard: shard)
        order.removeAll { $0 == shard }
        removeAwake(shard)
        quiescent.remove(shard)
        if r.lastRole == .leader { leadershipChanges.append((shard, false)) }
        for index in r.pending.keys.sorted() {
            if let p = r.pending[index] { repliesOutstanding.append(ShardReply(shard: shard, token: p.token, outcome: .unknown(reason: reason))) }
        }
        for token in readsWaiting.keys.sorted() where readsWaiting[token] == shard {
            readsWaiting[token] = nil
            repliesOutstanding.append(ShardReply(shard: shard, token: token, outcome: .unknown(reason: reason)))
        }
        readsIndexed.removeAll { entry in
            guard entry.shard == shard else { return false }
            repliesOutstanding.append(ShardReply(shard: shard, token: entry.token, outcome: .unknown(reason: reason)))
            return true
        }
        removedUnpersisted.append(shard)
        compactionsUnpersisted.removeAll { $0.shard == shard }
        snapshotsIn[shard] = nil
        dropStagedBodies(of: shard)
        for key in snapshotsOut.keys.sorted() where key.shard == shard { snapshotsOut[key] = nil }
        counters.replicasRemoved += 1
    }

    // MARK: inputs

    /// One tick of time for every awake group (quiescent ones cost nothing); every
    /// `rebalanceEveryTicks` ticks, each leader takes one step toward its placement.
    public mutating func tick() {
        ticks += 1
        let rebalance = ticks % settings.rebalanceEveryTicks == 0
        var orphans: [ShardID] = []
        var idle: [ShardID] = []
        for shard in awake {
            // Taken out and put back (not copied) so the replica's arrays stay uniquely
            // referenced: a copy would make the next mutation copy the whole log.
            guard var r = replicas.removeValue(forKey: shard) else { continue }
            defer { replicas[shard] = r }
            if idleLongEnough(&r, shard: shard) {
                idle.append(shard)
                continue
            }
            r.node.tick()
            if r.node.role == .leader { r.ticksWithoutLeader = 0 } else { r.ticksWithoutLeader += 1 }
            if rebalance, r.node.role == .leader, let target = targets[shard] { step(&r, shard: shard, toward: target) }
            if let at = r.removalAppliedAtTick, ticks > at + 2, !r.node.configuration.contains(id) {
                orphans.append(shard)
            } else if r.ticksWithoutLeader > settings.orphanTicks, isOrphan(r) {
                orphans.append(shard)
            }
        }
        for shard in idle { quiesceLeader(shard) }
        for shard in orphans { dropReplica(shard, reason: "replica is no longer a member of its group") }
        tickSnapshots()
    }

    /// A replica that its own committed configuration does not list: either never completed
    /// as a learner, or removed. It holds no vote anywhere it could still be counted.
    func isOrphan(_ r: ShardReplica<Machine>) -> Bool {
        !r.node.configuration.contains(id) && r.node.configurationIndex <= r.node.log.committed
    }

    /// A batch from a peer node. Messages for groups this node does not host create the
    /// group only when they come from a leader (it added this node as a learner).
    public mutating func receive(_ batch: ShardBatch) {
        guard batch.to == id else { counters.batchesMisaddressed += 1; return }
        if batch.epoch != 0 {
            if epoch == nil {
                epoch = batch.epoch
                epochUnpersisted = true
            } else if epoch != batch.epoch {
                counters.batchesOtherEpoch += 1
                return
            }
        } else if epoch != nil {
            // The sender has no shard set yet; only answers to it make sense, and it sends none.
        }
        counters.batchesReceived += 1
        for notice in batch.removals {
            guard let r = replicas[notice.shard], r.node.term <= notice.term, r.node.configurationIndex <= notice.index,
                  r.node.role != .leader else { continue }
            counters.removalNotices += 1
            dropReplica(notice.shard, reason: "this node was removed from the shard's group")
        }
        for (shard, m) in batch.expanded { deliver(m, shard: shard) }
        for h in batch.quiescentHeartbeats { receiveQuiescent(h, from: batch.from, to: batch.to) }
        receiveSnapshotItems(of: batch)
    }

    /// One message of a peer's batch, for one group.
    mutating func deliver(_ m: Message, shard: ShardID, quiescentHeartbeat: Bool = false) {
        if replicas[shard] == nil {
            switch m.body {
            case .appendEntries, .heartbeat, .installSnapshot:
                guard epoch != nil, (try? addReplica(shard, .bootstrap(.empty))) != nil else { return }
                counters.replicasCreated += 1
            default:
                counters.messagesForUnknownShards += 1
                return
            }
        }
        guard var r = replicas.removeValue(forKey: shard) else { return }
        defer { replicas[shard] = r }
        switch m.body {
        case .appendEntries, .heartbeat, .installSnapshot: r.ticksWithoutLeader = 0
        default: break
        }
        if r.node.role == .leader, !r.node.configuration.contains(m.from), r.node.configurationIndex <= r.node.log.committed,
           removalNotices[m.from]?.contains(where: { $0.shard == shard }) != true {
            // A member removed while it was away missed its removal's commit and the notice
            // sent then; its configuration still lists it, so it campaigns (and counts as
            // voting) forever. The committed configuration without it is the group's from
            // now on: tell it again.
            removalNotices[m.from, default: []].append(.init(shard: shard, term: r.node.term, index: r.node.configurationIndex))
        }
        if quiescent.contains(shard), wakes(r, on: m, quiescentHeartbeat: quiescentHeartbeat) {
            wake(&r, shard: shard)
            if case .voteRequest = m.body { r.node.forgetLeader() } // its leader is unavailable
        }
        let before = (r.node.term, r.node.role, r.node.leader)
        r.node.step(m)
        if quiescent.contains(shard), before != (r.node.term, r.node.role, r.node.leader) { wake(&r, shard: shard) }
    }

    /// The transport could not deliver a batch, or a frame of one, to `peer` (refused as too
    /// large, a full queue, a broken stream). Every group this node leads stops streaming to
    /// `peer` and probes it instead (etcd's ReportUnreachable): it sends one message at a time
    /// until `peer` answers, and what it sends then starts where `peer`'s log really ends
    /// instead of after entries that never arrived.
    public mutating func reportUnreachable(peer: NodeID) {
        counters.peersUnreachable += 1
        rewindSnapshots(to: peer)
        for shard in order where replicas[shard]?.node.role == .leader {
            guard var r = replicas.removeValue(forKey: shard) else { continue }
            r.node.reportUnreachable(peer)
            replicas[shard] = r
        }
    }

    /// The placement of every shard, as Raft member ids in ring order. Leaders move their
    /// groups toward it; a shard missing from `targets` is left as it is.
    public mutating func setTargets(_ targets: [ShardID: [NodeID]]) {
        for shard in quiescent.sorted() where targets[shard] != self.targets[shard] && replicas[shard]?.node.role == .leader {
            wakeIfQuiescent(shard)
        }
        self.targets = targets
    }

    /// Proposes `command` to `shard`'s group. `requestID` (may be empty) makes it
    /// exactly-once: a request id the group already applied is answered from the ledger.
    /// `token` names the proposal in the `ShardReply` that answers it.
    public mutating func propose(shard: ShardID, requestID: [UInt8], command: [UInt8], token: UInt64) throws(ShardRefusal) -> ProposalAcceptance {
        wakeIfQuiescent(shard)
        guard var r = replicas.removeValue(forKey: shard) else { throw .notHosted(shard) }
        defer { replicas[shard] = r }
        guard r.node.role == .leader else { throw .notLeader(leader: r.node.leader) }
        if let done = r.ledger.reply(for: requestID) { return .alreadyApplied(index: LogIndex(done.index), reply: done.reply) }
        guard r.pending.count < settings.maxPendingProposals else {
            throw .overloaded("\(r.pending.count) proposals wait in shard \(shard)")
        }
        guard requestID.count <= CommandEnvelope.maxRequestIDBytes else {
            throw .rejected("request id longer than \(CommandEnvelope.maxRequestIDBytes) bytes")
        }
        do {
            let entry = try r.node.propose(CommandEnvelope(requestID: requestID, body: command).encoded())
            r.pending[entry.index] = .init(term: entry.term, token: token)
        } catch {
            switch error {
            case let .notLeader(leader): throw .notLeader(leader: leader)
            case let .transferInProgress(to): throw .leaderMoving(to: to)
            case .overloaded: throw .overloaded(error.description)
            default: throw .rejected(error.description)
            }
        }
        counters.proposals += 1
        return .proposed
    }

    /// Starts a linearizable read of `shard` (Raft §6.4 ReadIndex): the reply `.readable`
    /// arrives once this replica has applied everything committed when the read began.
    /// `token` must not name another read still pending (it is refused as `.rejected`).
    public mutating func read(shard: ShardID, token: UInt64) throws(ShardRefusal) {
        wakeIfQuiescent(shard)
        guard var r = replicas.removeValue(forKey: shard) else { throw .notHosted(shard) }
        defer { replicas[shard] = r }
        guard r.node.role == .leader else { throw .notLeader(leader: r.node.leader) }
        // The token is the read's ReadIndex context and names its reply: one in use by
        // another read, of any shard, would take that read's ReadState or answer.
        guard readsWaiting[token] == nil, !readsIndexed.contains(where: { $0.token == token }) else {
            throw .rejected("read token \(token) is already in use by a pending read")
        }
        var context: [UInt8] = []
        withUnsafeBytes(of: token.bigEndian) { context.append(contentsOf: $0) }
        do { try r.node.readIndex(context: context) } catch {
            if case .tooManyPendingReads = error { throw .overloaded(error.description) }
            throw .rejected(error.description)
        }
        readsWaiting[token] = shard
    }

    /// Hands leadership of `shard` to `target` (a caught-up voter).
    public mutating func transferLeadership(shard: ShardID, to target: NodeID) throws(ShardRefusal) {
        wakeIfQuiescent(shard)
        guard var r = replicas.removeValue(forKey: shard) else { throw .notHosted(shard) }
        defer { replicas[shard] = r }
        do { try r.node.transferLeadership(to: target) } catch { throw .rejected(error.description) }
    }

    /// The machines' events since the last call, in apply order.
    public mutating func takeEvents() -> [(shard: ShardID, event: Machine.Event)] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// Groups this node started or stopped leading since the last call, in order.
    public mutating func takeLeadershipChanges() -> [(shard: ShardID, leading: Bool)] {
        defer { leadershipChanges.removeAll() }
        return leadershipChanges
    }

    // MARK: placement

    mutating func step(_ r: inout ShardReplica<Machine>, shard: ShardID, toward target: [NodeID]) {
        let node = r.node
        let next = Rebalancer.next(configuration: node.configuration, leader: id, target: target, commit: node.log.committed) { member in
            node.progress(of: member).map { Rebalancer.Follower(match: $0.match, recentlyActive: $0.recentActive) }
        }
        guard let next else { return }
        do {
            switch next {
            case let .addLearner(m): try r.node.proposeConfChange(.addLearner(m))
            case let .promote(m): try r.node.proposeConfChange(.promote(m))
            case let .remove(m): try r.node.proposeConfChange(.remove(m))
            case let .transferLeadership(to: m): try r.node.transferLeadership(to: m)
            }
            counters.reconfigurations += 1
        } catch {
            // Another change is in flight or the leader has not committed in its term yet:
            // the next look will try again.
            counters.reconfigurationsDeferred += 1
        }
    }
}
