import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusStorage

/// The durable state of every shard group on one node: one `SegmentLog` shared by all groups
/// (one fsync covers every group's records: group commit across shards) and one
/// `SnapshotStore`. It carries out steps 1–5 of `HostReady` and loads what a restarted
/// `ShardHost` needs.
///
/// Invariants: a group's snapshot is saved before its log is marked as covered by it (so a
/// crash in between leaves the log complete); `sync()` returns only after everything
/// persisted before it is durable; a failure is thrown, and the log then refuses every later
/// call (the node must stop and recover from disk).
public final class ShardStore {
    /// Where the shard-set epoch is kept: a group number no shard can have.
    static let metaGroup: UInt64 = 1 << 40
    /// Where this node's Raft member id is kept.
    public static let identityGroup: UInt64 = (1 << 40) + 1

    public let log: SegmentLog
    public let snapshots: SnapshotStore
    public private(set) var syncs = 0

    /// Opens (and recovers) the log in `directory/log` and snapshots in `directory/snap`.
    public init(directory: String, fileSystem: any FileSystem, settings: SegmentLogSettings = SegmentLogSettings()) throws {
        _ = try fileSystem.createDirectory(at: directory)
        log = try SegmentLog(directory: directory + "/log", settings: settings, fileSystem: fileSystem)
        snapshots = try SnapshotStore(directory: directory + "/snap", fileSystem: fileSystem)
    }

    public func close() { log.close() }

    /// The shard-set epoch, if this node has joined one.
    public func loadEpoch() throws -> UInt64? {
        guard let s = try snapshots.load(group: ShardStore.metaGroup), s.data.count == 8 else { return nil }
        return s.data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// This node's Raft member id: the stored one, or a new random one stored durably first.
    /// The id belongs to the data, not to the node's name: a node that lost its data comes
    /// back as a new member (the groups replace the old one), never as an old voter with an
    /// empty log, which could elect a leader without committed entries.
    public func loadOrCreateIdentity(random: () -> UInt64) throws -> NodeID {
        if let s = try snapshots.load(group: ShardStore.identityGroup), s.data.count == 8,
           let id = NodeID(encoded: s.data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) {
            return id
        }
        var value = random()
        while value == 0 { value = random() }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        try snapshots.save(ChorusStorage.Snapshot(group: ShardStore.identityGroup, index: 0, term: 0, data: bytes))
        return NodeID(value)
    }

    /// Every stored group, as `RaftNode` restarts from it.
    public func loadGroups() throws -> [ShardID: PersistedState] {
        var groups = Set(log.groups)
        for g in try snapshots.groups() { groups.insert(g) }
        var out: [ShardID: PersistedState] = [:]
        for g in groups.sorted() where g < UInt64(ShardBatchCodec.maxShards) {
            var snapshot = ChorusRaft.Snapshot.bootstrap(.empty)
            if var s = try loadSnapshot(group: g) {
                var image: [UInt8] = []
                swap(&image, &s.data) // one copy of a large image in memory, not two
                do {
                    snapshot = try RaftCodec.decodeImage(taking: consume image, index: LogIndex(s.index), term: Term(s.term), limits: .stored)
                } catch {
                    throw ShardStorageFailure(shard: ShardID(UInt32(g)), index: LogIndex(s.index), reason: error.description)
                }
            }
            var entries: [Entry] = []
            let first = log.firstIndex(group: g), last = log.lastIndex(group: g)
            var from = first
            while from <= last {
                let chunk = try log.entries(group: g, from: from, to: last + 1, maxBytes: 64 << 20)
                guard !chunk.isEmpty else { break }
                for e in chunk {
                    entries.append(Entry(index: LogIndex(e.index), term: Term(e.term), payload: try RaftCodec.decodePayload(e.payload)))
                }
                from += UInt64(chunk.count)
            }
            let hs = log.hardState(group: g).map {
                ChorusRaft.HardState(term: Term($0.term), vote: NodeID(encoded: $0.vote), commit: LogIndex($0.commit))
            } ?? .initial
            // A group with nothing stored is skipped, but not a founder's whose founding
            // snapshot (index 0, its configuration) is all that was synced before a crash.
            if snapshot.metadata.index == .zero && snapshot.metadata.configuration == .empty && entries.isEmpty && hs == .initial { continue }
            out[ShardID(UInt32(g))] = PersistedState(hardState: hs, snapshot: snapshot, entries: entries)
        }
        return out
    }

    /// A group's stored snapshot file; a damaged, truncated or oversized one is the shard's
    /// `ShardStorageFailure` (at the index the log says it covers), so the node stops naming
    /// the shard instead of starting without the state it acknowledged.
    func loadSnapshot(group g: UInt64) throws -> ChorusStorage.Snapshot? {
        do {
            return try snapshots.load(group: g)
        } catch {
            guard case let .corruptSnapshot(file, reason) = error else { throw error }
            throw ShardStorageFailure(shard: ShardID(UInt32(g)), index: LogIndex(log.snapshotMark(group: g).index),
                                      reason: "\(file): \(reason)")
        }
    }

    /// Steps 1–4 of `HostReady` (not the sync).
    public func persist(_ r: HostReady) throws {
        if let epoch = r.epoch {
            var bytes: [UInt8] = []
            withUnsafeBytes(of: epoch.bigEndian) { bytes.append(contentsOf: $0) }
            try snapshots.save(ChorusStorage.Snapshot(group: ShardStore.metaGroup, index: 0, term: 0, data: bytes))
        }
        for shard in r.removed {
            let g = UInt64(shard.value)
            try log.removeGroup(g)
            try snapshots.remove(group: g)
        }
        for (shard, ready) in r.groups { try persist(ready, group: UInt64(shard.value)) }
        for (shard, s) in r.compactions {
            let g = UInt64(shard.value)
            try snapshots.save(group: g, index: s.metadata.index.value, term: s.metadata.term.value,
                               parts: [RaftCodec.imagePrefix(s), s.data])
            try log.markSnapshot(group: g, index: s.metadata.index.value, term: s.metadata.term.value)
        }
    }

    /// Steps 1–3 of `ChorusRaft.Ready` for one group.
    func persist(_ ready: Ready, group g: UInt64) throws {
        if let s = ready.snapshot {
            try snapshots.save(group: g, index: s.metadata.index.value, term: s.metadata.term.value,
                               parts: [RaftCodec.imagePrefix(s), s.data])
            let mark = log.snapshotMark(group: g).index
            if log.lastIndex(group: g) > mark { try log.truncate(group: g, from: mark + 1) }
            try log.markSnapshot(group: g, index: s.metadata.index.value, term: s.metadata.term.value)
        }
        for e in ready.entries {
            _ = try log.append(group: g, index: e.index.value, term: e.term.value, payload: RaftCodec.encode(e.payload))
        }
        if let hs = ready.hardState {
            try log.setHardState(ChorusStorage.HardState(term: hs.term.value, vote: hs.vote?.value ?? 0, commit: hs.commit.value), group: g)
        }
    }

    /// Step 5: one fsync for every group. Returns whether anything needed it.
    @discardableResult
    public func sync() throws -> Bool {
        guard log.hasUnsyncedRecords else { return false }
        _ = try log.sync()
        syncs += 1
        return true
    }

    /// Deletes segments every group's snapshot covers.
    @discardableResult
    public func compact() throws -> CompactionReport { try log.compact() }

    /// Segments the log may keep before the group pinning the oldest one is asked for a
    /// snapshot (`ShardHost.snapshotPinningGroup`): 4 × 64 MiB by default.
    public static let segmentsBeforePinnedSnapshot = 4
}

extension ShardStore {
    /// Carries out every `HostReady` the host has, in the documented order (persist, one
    /// fsync, send, advance), and returns the replies. Throws the host's `failure` once it
    /// has one (the node must stop). `send` gets the batches only after the
    /// fsync that covers what they announce. With a `clock`, `synced` gets the duration of
    /// every fsync (for metrics).
    public func drive<M>(_ host: inout ShardHost<M>, clock: (() -> Instant)? = nil, synced: (Interval) -> Void = { _ in },
                         send: ([ShardBatch]) -> Void) throws -> [ShardReply] {
        var replies: [ShardReply] = []
        while host.hasReady {
            let r = host.ready()
            try persist(r)
            if !r.leaderBatches.isEmpty { send(r.leaderBatches) } // before the fsync (§10.2.1)
            let started = clock?()
            if try sync(), let started, let clock { synced(clock() - started) }
            var pinning: ShardID?
            if !r.compactions.isEmpty {
                let report = try compact()
                if report.retainedSegments > Self.segmentsBeforePinnedSnapshot, let g = report.pinnedBy, let shard = UInt32(exactly: g) {
                    pinning = ShardID(shard)
                }
            }
            if !r.batches.isEmpty { send(r.batches) }
            replies += host.advance(r)
            if let pinning { host.snapshotPinningGroup(pinning) }
            if let failure = host.failure { throw failure }
        }
        return replies
    }
}
