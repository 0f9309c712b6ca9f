import ChorusRaft
import ChorusRing

// The output side of the host: gathering every group's Ready into one HostReady, and the
// apply path (committed entries to the machine, exactly once, and the answers to callers).
extension ShardHost {
    /// True when `ready()` has work for the driver.
    public var hasReady: Bool {
        epochUnpersisted || !removedUnpersisted.isEmpty || !removalNotices.isEmpty || !compactionsUnpersisted.isEmpty || !repliesOutstanding.isEmpty
            || !snapshotAcksOut.isEmpty || snapshotsOut.values.contains { $0.hasChunks(windowBytes: settings.snapshotWindowBytes) }
            || !replicas.ready.isEmpty || !quiescentNotices.isEmpty
    }

    /// Everything every group needs persisted, sent and applied, in the order on `HostReady`.
    /// Call `advance(_:)` with it before the next `ready()`.
    public mutating func ready() -> HostReady {
        precondition(!readyOutstanding, "ready() called again before advance(_:)")
        readyOutstanding = true
        var out = HostReady()
        if epochUnpersisted { out.epoch = epoch }
        out.removed = removedUnpersisted
        out.compactions = compactionsUnpersisted
        var batches: [NodeID: ShardBatch] = [:]
        var leaderBatch: [NodeID: ShardBatch] = [:]
        for shard in order {
            guard replicas.ready.contains(shard), var r = replicas.removeValue(forKey: shard) else { continue }
            defer { replicas[shard] = r }
            let rd = r.node.ready()
            // The core decides which messages may leave before the fsync (a leader's, of a
            // term already durable). The host holds them back too while the shard-set epoch
            // is not durable: a peer must never adopt an epoch this node could forget.
            if epochUnpersisted {
                collect(rd.earlyMessages, of: shard, into: &batches)
            } else {
                collect(rd.earlyMessages, of: shard, into: &leaderBatch)
            }
            collect(rd.messages, of: shard, into: &batches)
            out.groups.append((shard, rd))
        }
        for (member, notices) in removalNotices {
            batches[member, default: ShardBatch(from: id, to: member, epoch: epoch ?? 0)].removals += notices
        }
        removalNotices.removeAll()
        for (member, notices) in quiescentNotices {
            batches[member, default: ShardBatch(from: id, to: member, epoch: epoch ?? 0)].quiescentHeartbeats += notices
        }
        quiescentNotices.removeAll()
        addSnapshotItems(to: &batches)
        out.batches = batches.keys.sorted().compactMap { batches[$0] }
        out.leaderBatches = leaderBatch.keys.sorted().compactMap { leaderBatch[$0] }
        return out
    }

    /// Adds one group's messages to the batches of their destinations.
    mutating func collect(_ messages: [Message], of shard: ShardID, into batches: inout [NodeID: ShardBatch]) {
        for m in messages {
            if case let .installSnapshot(snapshot) = m.body {
                // Images travel in chunks beside the batch (`ShardHost+Snapshots.swift`).
                startSending(snapshot, to: m.to, shard: shard, term: m.term)
                continue
            }
            batches[m.to, default: ShardBatch(from: id, to: m.to, epoch: epoch ?? 0)].append(m, shard: shard)
        }
    }

    /// The driver did what `ready` asked: apply committed entries, answer proposals and
    /// reads, take local snapshots where due. Returns the answers (each token once).
    public mutating func advance(_ done: HostReady) -> [ShardReply] {
        precondition(readyOutstanding, "advance(_:) without ready()")
        readyOutstanding = false
        if done.epoch != nil { epochUnpersisted = false }
        removedUnpersisted.removeAll { done.removed.contains($0) }
        discardLocalFiles(removed: done.removed)
        compactionsUnpersisted.removeAll { c in done.compactions.contains { $0.shard == c.shard && $0.snapshot.metadata == c.snapshot.metadata } }
        releaseLocalFiles(after: done.compactions)
        var replies = repliesOutstanding
        repliesOutstanding = []
        for (shard, rd) in done.groups {
            guard var r = replicas.removeValue(forKey: shard) else { continue }
            defer { replicas[shard] = r }
            if let s = rd.snapshot {
                do {
                    r.machine.closeFiles(discard: false) // the restored machine reopens them
                    (r.machine, r.ledger) = try ShardReplica<Machine>.restore(s.data, shard: shard, ledgerCapacity: settings.ledgerCapacity,
                                                                              bodyStores: bodyStores)
                } catch {
                    // The log now starts after this snapshot: keeping the old machine would
                    // diverge from every other replica without a trace. Stop instead.
                    counters.snapshotsUnreadable += 1
                    if failure == nil { failure = ShardStorageFailure(shard: shard, index: s.metadata.index, reason: "\(error)") }
                }
                r.appliedSinceSnapshot = 0
                r.appliedBytesSinceSnapshot = 0
                r.appliedConfiguration = s.metadata.configuration
                counters.snapshotsInstalled += 1
                // Proposals below the snapshot can no longer be matched to their entries.
                for index in r.pending.keys.sorted() where index <= s.metadata.index {
                    if let p = r.pending.removeValue(forKey: index) {
                        replies.append(ShardReply(shard: shard, token: p.token, outcome: .unknown(reason: "replaced by a snapshot")))
                    }
                }
            }
            var removedHere = false
            for e in rd.committedEntries {
                apply(e, to: &r, shard: shard, replies: &replies)
                guard case let .configuration(c) = e.payload else { continue }
                // Only a configuration that drops this node removes it. A learner catching up
                // applies the group's older configurations, from before it was added, which
                // never listed it; taking those for its removal dropped it while it caught up
                // (and it was recreated empty, over and over, when the log arrived in pieces).
                if r.appliedConfiguration?.contains(id) == true, !c.contains(id) { removedHere = true }
                if r.node.role == .leader, let before = r.appliedConfiguration {
                    for gone in before.members where !c.contains(gone) && gone != id {
                        removalNotices[gone, default: []].append(.init(shard: shard, term: r.node.term, index: e.index))
                    }
                }
                r.appliedConfiguration = c
            }
            for rs in rd.readStates {
                guard rs.context.count == 8 else { continue }
                let token = rs.context.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard readsWaiting[token] == shard else { continue }
                readsWaiting[token] = nil
                readsIndexed.append((shard, rs.index, token))
            }
            r.node.advance(rd)
            trackRole(&r, shard: shard, replies: &replies)
            if let error = r.machine.storageFailure, failure == nil {
                failure = ShardStorageFailure(shard: shard, index: r.node.log.applied, reason: "queue body log: \(error)")
            }
            if r.appliedSinceSnapshot >= settings.snapshotEvery || r.appliedBytesSinceSnapshot >= settings.snapshotEveryBytes,
               r.node.log.applied > r.node.log.snapshotIndex {
                takeLocalSnapshot(of: &r, shard: shard)
            }
            startStreamedTransfers(of: &r, shard: shard)
            if removedHere, !r.node.configuration.contains(id), r.removalAppliedAtTick == nil { r.removalAppliedAtTick = ticks }
        }
        if !readsIndexed.isEmpty {
            readsIndexed.removeAll { entry in
                guard let r = replicas[entry.shard], r.node.log.applied >= entry.index else { return false }
                replies.append(ShardReply(shard: entry.shard, token: entry.token, outcome: .readable))
                return true
            }
        }
        replies.append(contentsOf: repliesOutstanding)
        repliesOutstanding = []
        return replies
    }

    /// Applies one committed entry: a command through the ledger (exactly once) to the
    /// machine; a waiting proposal at that index is answered — applied if the term matches,
    /// unknown if another leader's entry took its place.
    mutating func apply(_ e: Entry, to r: inout ShardReplica<Machine>, shard: ShardID, replies: inout [ShardReply]) {
        var reply: [UInt8] = []
        if case let .command(bytes) = e.payload {
            r.appliedSinceSnapshot += 1
            r.appliedBytesSinceSnapshot += bytes.count
            counters.applied += 1
            if let envelope = try? CommandEnvelope(decoding: bytes) {
                if let done = r.ledger.reply(for: envelope.requestID) {
                    reply = done.reply
                    counters.duplicatesSuppressed += 1
                } else {
                    reply = r.machine.apply(envelope.body, at: e.index)
                    // Fix (found by the lock simulation): a provisional reply is not cached. The
                    // ledger used to keep a queued acquire's `.waiting` and answer every retry
                    // with it, even after the lock table had granted the wait: a client whose
                    // notification went to a deposed leader never learned it held the lock.
                    if Machine.isFinal(reply: reply, to: envelope.body) {
                        r.ledger.record(envelope.requestID, index: e.index.value, reply: reply)
                    }
                    for event in r.machine.takeEvents() { events.append((shard, event)) }
                }
            } else {
                counters.commandsUnreadable += 1
            }
        }
        if let p = r.pending.removeValue(forKey: e.index) {
            let outcome: ShardReply.Outcome = p.term == e.term ? .applied(index: e.index, reply: reply)
                                                              : .unknown(reason: "leadership changed before the entry committed")
            replies.append(ShardReply(shard: shard, token: p.token, outcome: outcome))
        }
    }

    /// Counts elections won and, when this replica stops leading, answers what it was
    /// waiting for as unknown (the new leader may or may not commit those entries).
    mutating func trackRole(_ r: inout ShardReplica<Machine>, shard: ShardID, replies: inout [ShardReply]) {
        let role = r.node.role
        guard role != r.lastRole else { return }
        if role == .leader {
            counters.electionsWon += 1
            leadershipChanges.append((shard, true))
        }
        if role == .candidate { counters.campaigns += 1 }
        if r.lastRole == .leader {
            leadershipChanges.append((shard, false))
            for index in r.pending.keys.sorted() {
                if let p = r.pending.removeValue(forKey: index) {
                    replies.append(ShardReply(shard: shard, token: p.token, outcome: .unknown(reason: "leadership lost")))
                }
            }
            for token in readsWaiting.keys.sorted() where readsWaiting[token] == shard {
                readsWaiting[token] = nil
                replies.append(ShardReply(shard: shard, token: token, outcome: .unknown(reason: "leadership lost")))
            }
        }
        r.lastRole = role
    }
}
