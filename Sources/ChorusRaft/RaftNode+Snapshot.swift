/// Snapshots and log compaction (Raft §7).
///
/// - The application snapshots its state machine at an applied index and hands the image to
///   `compact(through:data:)`; the log drops every entry the image covers.
/// - A member that needs entries the leader compacted away gets the snapshot in one
///   `installSnapshot` message, then replication resumes after it.
/// - A follower that receives a snapshot beyond its log replaces its whole log with it and
///   hands it to the driver to persist and restore (see `Ready`); one that already holds the
///   snapshot's last entry only advances its commit index.
extension RaftNode {
    /// Compacts the log through `index` (at most the applied index) into the application's
    /// image `data` of its state there. Returns the snapshot for the driver to persist
    /// (SnapshotStore.save, then the log's snapshot mark); the node keeps it to send to
    /// lagging members.
    @discardableResult
    public mutating func compact(through index: LogIndex, data: [UInt8]) throws(RaftError) -> Snapshot {
        guard index > log.snapshotIndex, index <= log.applied, !log.snapshotPending,
              let snapshotTerm = log.term(at: index) else {
            throw .invalidCompaction(index: index, applied: log.applied, snapshot: log.snapshotIndex)
        }
        let (membership, _) = log.configuration(atOrBefore: index)
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: index, term: snapshotTerm, configuration: membership), data: data)
        log.compact(snapshot)
        return snapshot
    }

    /// Sends our snapshot to `member` unless it has been silent (etcd sends snapshots only
    /// to recently active members: they are large).
    mutating func sendSnapshot(to member: NodeID) -> Bool {
        guard var p = progress[member], p.recentActive else { return false }
        send(to: member, .installSnapshot(log.snapshot))
        p.becomeSnapshot(log.snapshotIndex)
        progress[member] = p
        return true
    }

    /// A snapshot message may be lost; after an election timeout without an answer, probe
    /// again (which sends it again if still needed).
    mutating func retryLostSnapshots() {
        for member in progress.all.map(\.id) where member != id {
            guard var p = progress[member], case .snapshot = p.state else { continue }
            p.snapshotTicks += 1
            if p.snapshotTicks >= settings.electionTicks { p.becomeProbe() }
            progress[member] = p
        }
    }

    /// Raft §7, InstallSnapshot receiver (etcd `handleSnapshot`/`restore`).
    mutating func handleInstallSnapshot(_ m: Message, _ snapshot: Snapshot) {
        let meta = snapshot.metadata
        if meta.index <= log.committed {
            send(to: m.from, .appendResponse(AppendResponse(reject: false, index: log.committed)))
            return
        }
        if log.matchTerm(meta.index, meta.term) {
            // We hold the snapshot's last entry, hence (Log Matching) all before it.
            _ = log.commit(to: meta.index)
            send(to: m.from, .appendResponse(AppendResponse(reject: false, index: log.committed)))
            return
        }
        log.restore(snapshot)
        configuration = meta.configuration
        configurationIndex = meta.index
        send(to: m.from, .appendResponse(AppendResponse(reject: false, index: log.lastIndex)))
    }
}
