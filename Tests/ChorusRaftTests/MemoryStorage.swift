import ChorusRaft

/// What a driver persisted for one node: exactly the `Ready`s it processed, nothing more.
/// A restarted node gets back only this (crash = drop the `RaftNode`, keep the storage).
struct MemoryStorage {
    var hardState = HardState.initial
    var snapshot: Snapshot
    var entries: [Entry] = []

    init(configuration: Configuration) { snapshot = .bootstrap(configuration) }

    /// Steps 1–3 of the persistence order on `Ready`.
    mutating func persist(_ ready: Ready) {
        if let s = ready.snapshot {
            snapshot = s
            entries = []
        }
        if let first = ready.entries.first {
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
        if let hs = ready.hardState { hardState = hs }
    }

    /// The driver saved a snapshot the application took: entries it covers are dropped.
    mutating func saveCompaction(_ s: Snapshot) {
        guard s.metadata.index > snapshot.metadata.index else { return }
        snapshot = s
        entries.removeAll { $0.index <= s.metadata.index }
    }

    var persisted: PersistedState { PersistedState(hardState: hardState, snapshot: snapshot, entries: entries) }
}
