import ChorusBase
import ChorusStorage
import ChorusRaft

/// A Raft node driven the way a real driver would drive it: entries and hard state in a
/// ChorusStorage `SegmentLog`, snapshots in a `SnapshotStore`, both on a `MemoryFileSystem`
/// that loses (or tears) everything not fsynced when it crashes. `handleReady` follows the
/// order written on `Ready`; a crash can be injected between its steps.
final class DurableNode {
    enum Stage: CaseIterable { case afterSnapshotSave, beforeSync, afterSync }
    struct Crash: Error {}

    static let group: UInt64 = 1
    let id: NodeID
    let initial: Configuration
    let settings: RaftSettings
    let fileSystem = MemoryFileSystem()
    private(set) var log: SegmentLog
    private(set) var snapshots: SnapshotStore
    var raft: RaftNode?
    private(set) var restarts = 0

    init(id: NodeID, initial: Configuration, settings: RaftSettings) throws {
        self.id = id
        self.initial = initial
        self.settings = settings
        (log, snapshots) = try DurableNode.open(id, fileSystem)
        raft = try RaftNode(id: id, settings: settings, seed: id.value, restoring: try recovered())
    }

    private static func open(_ id: NodeID, _ fs: MemoryFileSystem) throws -> (SegmentLog, SnapshotStore) {
        // Small segments, so that rolls and segment compaction happen in a short test.
        let log = try SegmentLog(directory: "/\(id)/log", settings: SegmentLogSettings(segmentBytes: 4096), fileSystem: fs)
        return (log, try SnapshotStore(directory: "/\(id)/snap", fileSystem: fs))
    }

    /// What storage holds for the group, as the core's `PersistedState`.
    func recovered() throws -> PersistedState {
        let g = DurableNode.group
        var snapshot = ChorusRaft.Snapshot.bootstrap(initial)
        if let s = try snapshots.load(group: g) {
            snapshot = try RaftCodec.decodeImage(s.data, index: LogIndex(s.index), term: Term(s.term))
        }
        var entries: [Entry] = []
        let first = log.firstIndex(group: g), last = log.lastIndex(group: g)
        if last >= first {
            for e in try log.entries(group: g, from: first, to: last + 1) {
                entries.append(Entry(index: LogIndex(e.index), term: Term(e.term), payload: try RaftCodec.decodePayload(e.payload)))
            }
        }
        let hs = log.hardState(group: g).map {
            ChorusRaft.HardState(term: Term($0.term), vote: NodeID(encoded: $0.vote), commit: LogIndex($0.commit))
        } ?? .initial
        return PersistedState(hardState: hs, snapshot: snapshot, entries: entries)
    }

    /// Power failure: unsynced bytes are lost or torn; the node restarts from storage.
    func crashAndRestart(tearing rng: inout SeededRandomWrapper) throws {
        raft = nil
        log.close()
        fileSystem.crash(tearingAppends: &rng)
        (log, snapshots) = try DurableNode.open(id, fileSystem)
        restarts += 1
        raft = try RaftNode(id: id, settings: settings, seed: id.value &* 1_000 &+ UInt64(restarts), restoring: try recovered())
    }

    /// One `Ready`, in the documented order. Returns it once persisted (the caller sends,
    /// applies and advances); throws `Crash` when `crashAt` stops it part way.
    func persistReady(crashAt: Stage? = nil, sendEarly: ([Message]) -> Void = { _ in }) throws -> Ready? {
        guard var node = raft, node.hasReady else { return nil }
        let ready = node.ready()
        raft = node
        // A leader's messages that may leave before the fsync leave first, so a crash at
        // any stage below finds them already sent (Raft dissertation §10.2.1).
        sendEarly(ready.earlyMessages)
        let g = DurableNode.group
        if let s = ready.snapshot {
            // 1. The snapshot, durable on its own, then the log forgets the old history.
            try snapshots.save(ChorusStorage.Snapshot(group: g, index: s.metadata.index.value, term: s.metadata.term.value,
                                                      data: RaftCodec.encodeImage(s)))
            if crashAt == .afterSnapshotSave { throw Crash() }
            let mark = log.snapshotMark(group: g).index
            if log.lastIndex(group: g) > mark { try log.truncate(group: g, from: mark + 1) }
            try log.markSnapshot(group: g, index: s.metadata.index.value, term: s.metadata.term.value)
        }
        // 2. Entries (a conflicting suffix is truncated by the log itself), 3. hard state.
        for e in ready.entries {
            try log.append(group: g, index: e.index.value, term: e.term.value, payload: RaftCodec.encode(e.payload))
        }
        if let hs = ready.hardState {
            try log.setHardState(ChorusStorage.HardState(term: hs.term.value, vote: hs.vote?.value ?? 0, commit: hs.commit.value), group: g)
        }
        if crashAt == .beforeSync { throw Crash() }
        _ = try log.sync() // one fsync for all of it
        if crashAt == .afterSync { throw Crash() }
        return ready
    }

    func advance(_ ready: Ready) { raft!.advance(ready) }

    /// The application took a snapshot: save it, then mark the log and let it drop segments.
    func compact(data: [UInt8]) throws {
        guard var node = raft else { return }
        let applied = node.log.applied
        guard applied > node.log.snapshotIndex else { return }
        let s = try node.compact(through: applied, data: data)
        raft = node
        try snapshots.save(ChorusStorage.Snapshot(group: DurableNode.group, index: s.metadata.index.value,
                                                  term: s.metadata.term.value, data: RaftCodec.encodeImage(s)))
        try log.markSnapshot(group: DurableNode.group, index: s.metadata.index.value, term: s.metadata.term.value)
        _ = try log.compact()
    }
}
