/// One Raft group's view of the shared log: its snapshot mark, its latest hard state, and the
/// location of every live entry.
///
/// Invariant: `entries[k]` is entry `firstIndex + k`; `firstIndex > snapshot.index`. At run
/// time `firstIndex == snapshot.index + 1`. During recovery that starts from a checkpoint the
/// entries `snapshot.index + 1 ..< firstIndex` may be "known but not present" (they lived in
/// deleted segments); a later snapshot mark must cover them, or recovery fails with
/// `missingRecords`.
struct GroupLog {
    var snapshot = SnapshotMark.zero
    var hardState: HardState?
    var firstIndex: UInt64 = 1
    var entries: [EntryLocation] = []

    var lastIndex: UInt64 { firstIndex + UInt64(entries.count) - 1 }

    func location(of index: UInt64) -> EntryLocation? {
        guard index >= firstIndex, index <= lastIndex else { return nil }
        return entries[Int(index - firstIndex)]
    }

    func term(at index: UInt64) -> UInt64? {
        if index == snapshot.index { return snapshot.term }
        return location(of: index)?.term
    }

    var checkpoint: (lastIndex: UInt64, snapshot: SnapshotMark, hardState: HardState?) {
        (lastIndex, snapshot, hardState)
    }
}
