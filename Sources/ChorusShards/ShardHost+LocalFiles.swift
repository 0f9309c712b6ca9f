import ChorusRaft
import ChorusRing

/// The local snapshots of machines that keep files of their own (queue bodies on disk) and
/// what waits on them.
///
/// Invariants: a checkpoint is released only after the driver reports the snapshot taken
/// with it persisted (`advance` of a `HostReady` whose `compactions` held it), never sooner
/// (until then the previous snapshot may name the files it frees); a member is never sent a
/// snapshot that names files it does not have — it gets a streamed snapshot of the machine
/// at the core's snapshot index (made right after a fresh local snapshot so both are of one
/// state): the records image, then the bodies it names, pinned in the body logs and read as
/// the stream goes, so no image with the bodies inline is ever built.
struct LocalFileSnapshots: Sendable {
    /// Checkpoints to release once their snapshot (shard, index) is durable.
    var releases: [(shard: ShardID, index: LogIndex, checkpoint: ShardBodyCheckpoint)] = []
    /// Members the core wants to send a snapshot to, with the term it asked in.
    var streamsWanted: [SnapshotTransferKey: Term] = [:]
    /// Files of replicas dropped from this node, closed: deleted once the drop is durable
    /// (until then a restart restores the group from its snapshot, which names them).
    var discards: [(shard: ShardID, discard: @Sendable () -> Void)] = []
}

extension ShardHost {
    /// Compacts the group's log through the applied index into the machine's local image.
    mutating func takeLocalSnapshot(of r: inout ShardReplica<Machine>, shard: ShardID) {
        let local: (image: [UInt8], checkpoint: ShardBodyCheckpoint?)
        do { local = try r.machine.localImage() } catch {
            if failure == nil { failure = ShardStorageFailure(shard: shard, index: r.node.log.applied, reason: "queue body log: \(error)") }
            return
        }
        let image = ShardReplica<Machine>.image(machineImage: local.image, ledger: r.ledger)
        guard let s = try? r.node.compact(through: r.node.log.applied, data: image) else { return }
        compactionsUnpersisted.append((shard, s))
        if let checkpoint = local.checkpoint, !checkpoint.isEmpty { localFiles.releases.append((shard, s.metadata.index, checkpoint)) }
        r.appliedSinceSnapshot = 0
        r.appliedBytesSinceSnapshot = 0
        counters.snapshotsTaken += 1
    }

    /// The driver persisted these snapshots: release the files their checkpoints freed.
    mutating func releaseLocalFiles(after compactions: [(shard: ShardID, snapshot: Snapshot)]) {
        guard !localFiles.releases.isEmpty, !compactions.isEmpty else { return }
        var kept: [(shard: ShardID, index: LogIndex, checkpoint: ShardBodyCheckpoint)] = []
        for entry in localFiles.releases {
            guard compactions.contains(where: { $0.shard == entry.shard && $0.snapshot.metadata.index == entry.index }) else {
                kept.append(entry)
                continue
            }
            do { try replicas[entry.shard]?.machine.release(entry.checkpoint) } catch {
                if failure == nil { failure = ShardStorageFailure(shard: entry.shard, index: entry.index, reason: "queue body log: \(error)") }
            }
        }
        localFiles.releases = kept
    }

    /// The driver deleted these groups' records (`HostReady.removed`): the files of the
    /// replicas dropped before go too — unless a replica of the shard is back on this node
    /// (added again meanwhile), whose stores opened the same directories: a restore keeps only
    /// the bodies its image names, so what the old replica left there is never read.
    mutating func discardLocalFiles(removed: [ShardID]) {
        guard !localFiles.discards.isEmpty, !removed.isEmpty else { return }
        var kept: [(shard: ShardID, discard: @Sendable () -> Void)] = []
        for entry in localFiles.discards {
            guard removed.contains(entry.shard) else {
                kept.append(entry)
                continue
            }
            if replicas[entry.shard] == nil { entry.discard() }
        }
        localFiles.discards = kept
    }

    /// Starts the transfers the core asked for while this group's snapshot names local files:
    /// a fresh local snapshot at the applied index (unless the last one is there already),
    /// then a streamed snapshot with that snapshot's metadata — the machine's records image
    /// and its bodies pinned (`SnapshotBodyStream`). A member that installs it answers with
    /// its index, at or past the one the core sent, which the core takes as the snapshot's
    /// answer. Costs the records image and the bodies' locations in memory per transfer; the
    /// bodies are read, and their checksums taken, only as the chunks are cut.
    mutating func startStreamedTransfers(of r: inout ShardReplica<Machine>, shard: ShardID) {
        let wanted = localFiles.streamsWanted.keys.filter { $0.shard == shard }.sorted()
        guard !wanted.isEmpty else { return }
        for key in wanted {
            guard let term = localFiles.streamsWanted[key] else { continue }
            guard r.node.role == .leader, r.node.term == term else {
                localFiles.streamsWanted[key] = nil
                continue
            }
            if r.node.log.applied > r.node.log.snapshotIndex { takeLocalSnapshot(of: &r, shard: shard) }
            // Not at the snapshot's state (the compaction was refused): try after the next apply.
            guard r.node.log.applied == r.node.log.snapshotIndex else { continue }
            localFiles.streamsWanted[key] = nil
            let meta = r.node.log.snapshot.metadata
            if let current = snapshotsOut[key], current.term == term, current.index == meta.index, current.snapshotTerm == meta.term { continue }
            // The files lost a body or failed: the store's failure stops the node.
            guard let stream = r.machine.snapshotStream() else { continue }
            let records = Snapshot(metadata: meta, data: ShardReplica<Machine>.image(machineImage: stream.image, ledger: r.ledger))
            let transfer = SnapshotSending(to: key.peer, shard: shard, term: term, snapshot: records, bodies: stream.bodies)
            snapshotsOut[key] = transfer
            counters.snapshotsSent += 1
            if stream.bodies != nil { counters.snapshotsStreamed += 1 }
            counters.snapshotBytesHeldSending = max(counters.snapshotBytesHeldSending, transfer.heldBytes)
        }
    }

    /// The replica leaves this node: its files are closed, and deleted once the driver made
    /// the drop durable (`discardLocalFiles`); nothing waits on them any more.
    mutating func forgetLocalFiles(of r: ShardReplica<Machine>, shard: ShardID) {
        r.machine.closeFiles(discard: false)
        let machine = r.machine
        localFiles.discards.append((shard, { machine.closeFiles(discard: true) }))
        localFiles.releases.removeAll { $0.shard == shard }
        for key in localFiles.streamsWanted.keys.sorted() where key.shard == shard { localFiles.streamsWanted[key] = nil }
    }
}
