import ChorusQueue
import ChorusRaft
import ChorusRing

/// Which snapshot transfer: to (or from) which member, for which shard. Ordered, so that
/// transfers are visited in one order whatever the dictionary's.
struct SnapshotTransferKey: Hashable, Comparable, Sendable {
    var peer: NodeID
    var shard: ShardID
    static func < (a: Self, b: Self) -> Bool { (a.peer.value, a.shard.value) < (b.peer.value, b.shard.value) }
}

// Snapshots of any size between nodes (Raft §7): the core hands the host a whole image in an
// InstallSnapshot message; the host streams it in `SnapshotChunk`s beside the batch, at most
// a window ahead of the member's answers, resuming from the member's answer after a silence
// or a broken stream. With queue bodies on disk the host sends a streamed snapshot instead —
// the records image, a manifest, then the bodies read from the body logs as chunks are cut
// (`ShardHost+LocalFiles.swift`) — and the member writes the bodies into its own body logs
// as they arrive (`SnapshotReceiving`). The member checks the length and CRC-32C, and steps
// the reassembled InstallSnapshot into its core as if it had arrived whole. The core's own
// resend of a lost snapshot (after an election timeout) does not restart a transfer of the
// same snapshot.
extension ShardHost {
    /// The core asked to send `snapshot` to `member`: start streaming it, unless the same
    /// snapshot is already on its way there.
    mutating func startSending(_ snapshot: Snapshot, to member: NodeID, shard: ShardID, term: Term) {
        let key = SnapshotTransferKey(peer: member, shard: shard)
        if let current = snapshotsOut[key], current.term == term, current.index == snapshot.metadata.index,
           current.snapshotTerm == snapshot.metadata.term {
            return
        }
        if bodyStores.isOnDisk {
            // The core's snapshot may name this replica's files: the member gets a streamed
            // one instead, its bodies read from them, started after this `ready()`
            // (`ShardHost+LocalFiles.swift`). (The replica is out of the table while its
            // Ready is collected: ask the host.)
            localFiles.streamsWanted[key] = term
            return
        }
        snapshotsOut[key] = SnapshotSending(to: member, shard: shard, term: term, snapshot: snapshot)
        counters.snapshotsSent += 1
    }

    /// Chunks due and answers owed, into this `ready()`'s batches. A transfer whose group this
    /// node no longer leads in the transfer's term is dropped.
    mutating func addSnapshotItems(to batches: inout [NodeID: ShardBatch]) {
        for key in snapshotsOut.keys.sorted() {
            guard var transfer = snapshotsOut[key] else { continue }
            guard let node = replicas[key.shard]?.node, node.role == .leader, node.term == transfer.term else {
                snapshotsOut[key] = nil
                continue
            }
            guard let chunks = transfer.chunks(chunkBytes: settings.snapshotChunkBytes, windowBytes: settings.snapshotWindowBytes) else {
                // The bodies can no longer be read (the partition went): the core sends its
                // snapshot again after a silence, and a new stream starts from the new state.
                snapshotsOut[key] = nil
                continue
            }
            snapshotsOut[key] = transfer
            guard !chunks.isEmpty else { continue }
            counters.snapshotChunksSent += chunks.count
            batches[key.peer, default: ShardBatch(from: id, to: key.peer, epoch: epoch ?? 0)].snapshotChunks += chunks
        }
        for member in snapshotAcksOut.keys.sorted() {
            guard let acks = snapshotAcksOut[member] else { continue }
            batches[member, default: ShardBatch(from: id, to: member, epoch: epoch ?? 0)].snapshotAcks += acks
        }
        snapshotAcksOut.removeAll()
    }

    /// The snapshot chunks and answers of a peer's batch.
    mutating func receiveSnapshotItems(of batch: ShardBatch) {
        for ack in batch.snapshotAcks {
            let key = SnapshotTransferKey(peer: batch.from, shard: ack.shard)
            guard var transfer = snapshotsOut[key], transfer.index == ack.index else { continue }
            transfer.acknowledge(received: ack.received)
            snapshotsOut[key] = transfer.isComplete ? nil : transfer
        }
        for chunk in batch.snapshotChunks { receive(chunk, from: batch.from) }
    }

    /// One chunk: continue (or start) the shard's transfer, answer with what is held, and hand
    /// a complete image to the group as its InstallSnapshot.
    mutating func receive(_ chunk: SnapshotChunk, from sender: NodeID) {
        let shard = chunk.shard
        var transfer: SnapshotReceiving
        if let current = snapshotsIn[shard], current.matches(chunk, from: sender) {
            transfer = current
            // Out of the map while it grows: a copy left there would make every chunk's
            // append copy the whole image received so far (copy-on-write), quadratic in the
            // image — minutes of memmove for a 500 MiB one, with the event loop blocked.
            snapshotsIn[shard] = nil
        } else if chunk.offset == 0, epoch != nil, snapshotsIn[shard].map({ chunk.term >= $0.term }) ?? true {
            // The size limit is on what is held and stored, the image (and a streamed
            // snapshot's manifest); a streamed snapshot's bodies go to the body logs.
            transfer = SnapshotReceiving(from: sender, first: chunk, maxHeadBytes: settings.maxSnapshotBytes)
        } else {
            // Not the start of a transfer this node can take: "I hold nothing of it" makes the
            // leader start over (it restarted here, or a newer transfer replaced it).
            counters.snapshotChunksIgnored += 1
            snapshotAcksOut[sender, default: []].append(SnapshotChunkAck(shard: shard, index: chunk.index, received: 0))
            return
        }
        let outcome = transfer.receive(chunk, limits: .stored) { manifest in incomingStores(for: manifest, shard: shard) }
        counters.snapshotBytesHeldReceiving = max(counters.snapshotBytesHeldReceiving, transfer.peakBytes)
        switch outcome {
        case .pending:
            snapshotsIn[shard] = transfer
            snapshotAcksOut[sender, default: []].append(SnapshotChunkAck(shard: shard, index: chunk.index, received: transfer.received))
        case let .complete(snapshot):
            snapshotsIn[shard] = nil
            guard let installed = stagedBodies[shard] == nil ? snapshot : inlineImage(of: snapshot, shard: shard) else {
                counters.snapshotsDamaged += 1
                snapshotAcksOut[sender, default: []].append(SnapshotChunkAck(shard: shard, index: chunk.index, received: 0))
                return
            }
            snapshotAcksOut[sender, default: []].append(SnapshotChunkAck(shard: shard, index: chunk.index, received: transfer.received))
            deliver(Message(from: sender, to: id, term: transfer.term, body: .installSnapshot(installed)), shard: shard)
        case .damaged:
            snapshotsIn[shard] = nil
            dropStagedBodies(of: shard)
            counters.snapshotsDamaged += 1
            snapshotAcksOut[sender, default: []].append(SnapshotChunkAck(shard: shard, index: chunk.index, received: 0))
        }
    }

    /// The body logs a streamed snapshot's bodies go into, one per part of its manifest: the
    /// replica's (created now if this node has none: the leader added it) own, or opened for
    /// the transfer; on a node that keeps bodies in memory, staging logs in memory
    /// (`StagedBodies`). Nil when a log cannot be opened.
    mutating func incomingStores(for manifest: SnapshotBodyManifest, shard: ShardID) -> [SegmentBodyStore]? {
        guard bodyStores.isOnDisk else {
            var staged = stagedBodies[shard] ?? StagedBodies()
            defer { stagedBodies[shard] = staged }
            return staged.stores(for: manifest, shard: shard)
        }
        if replicas[shard] == nil {
            guard (try? addReplica(shard, .bootstrap(.empty))) != nil else { return nil }
            counters.replicasCreated += 1
        }
        guard var r = replicas.removeValue(forKey: shard) else { return nil }
        defer { replicas[shard] = r }
        var stores: [SegmentBodyStore] = []
        for part in manifest.parts {
            do {
                guard let store = try r.machine.incomingBodies(partition: part.partition, incarnation: part.incarnation) else { return nil }
                stores.append(store)
            } catch {
                if failure == nil { failure = ShardStorageFailure(shard: shard, index: r.node.log.applied, reason: "queue body log: \(error)") }
                return nil
            }
        }
        return stores
    }

    /// A streamed snapshot completed on a node with bodies in memory: its records image read
    /// over the staged bodies, made inline. Nil when it cannot be read (the transfer starts over).
    mutating func inlineImage(of snapshot: Snapshot, shard: ShardID) -> Snapshot? {
        guard let staged = stagedBodies.removeValue(forKey: shard) else { return nil }
        staged.close()
        guard let (machine, ledger) = try? ShardReplica<Machine>.restore(snapshot.data, shard: shard, ledgerCapacity: settings.ledgerCapacity,
                                                                          bodyStores: staged.stores) else { return nil }
        defer { machine.closeFiles(discard: true) }
        return Snapshot(metadata: snapshot.metadata, data: ShardReplica<Machine>.image(machine: machine, ledger: ledger))
    }

    /// Frees the staged bodies of a transfer that ended without an install.
    mutating func dropStagedBodies(of shard: ShardID) {
        stagedBodies.removeValue(forKey: shard)?.close()
    }

    /// Time for every transfer: a leader resends after a silence; a member drops an image
    /// nobody has continued for `snapshotAbandonTicks`.
    mutating func tickSnapshots() {
        let resendTicks = settings.snapshotResendTicks
        for key in snapshotsOut.keys.sorted() { snapshotsOut[key]?.tick(resendTicks: resendTicks) }
        for shard in snapshotsIn.keys.sorted() {
            snapshotsIn[shard]?.idleTicks += 1
            if let t = snapshotsIn[shard], t.idleTicks > settings.snapshotAbandonTicks {
                snapshotsIn[shard] = nil
                dropStagedBodies(of: shard)
            }
        }
    }

    /// The stream to `peer` broke: every transfer to it resumes from what it confirmed.
    mutating func rewindSnapshots(to peer: NodeID) {
        for key in snapshotsOut.keys.sorted() where key.peer == peer { snapshotsOut[key]?.rewind() }
    }
}
