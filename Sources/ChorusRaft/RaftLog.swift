/// A node's Raft log in memory: the latest snapshot, the entries after it, and how far they
/// are committed, persisted and applied.
///
/// Invariants:
/// - `entries[i].index == snapshot.index + 1 + i`, and terms never decrease along the log.
/// - `snapshot.index <= applied <= committed <= lastIndex` once the node has handed the
///   snapshot to the application (before that, `applied` may trail the snapshot).
/// - Entries after `stable` have not been persisted and are handed to the driver in the next
///   `Ready`; the leader counts only persisted entries toward its own match index.
/// - Committed entries are never truncated (Raft §5.3, Leader Completeness).
public struct RaftLog: Sendable {
    /// Everything up to `snapshot.metadata.index` is compacted into this image.
    public private(set) var snapshot: Snapshot
    private(set) var entries: [Entry]
    public internal(set) var committed: LogIndex
    /// Entries through here have been handed to the application and acknowledged (`advance`).
    public internal(set) var applied: LogIndex
    /// Entries through here are persisted.
    public private(set) var stable: LogIndex
    /// The snapshot arrived from a leader and is not yet persisted and applied.
    public private(set) var snapshotPending = false

    init(snapshot: Snapshot, entries: [Entry], commit: LogIndex) {
        self.snapshot = snapshot
        let base = snapshot.metadata.index
        // Keep only entries that continue the snapshot without a gap. An entry at the
        // snapshot's index with another term means the entries after it belong to a history
        // the snapshot replaced (a crash after a leader's snapshot was saved but before the
        // log's truncation was synced): none of them is kept.
        var kept: [Entry] = []
        let divergent = entries.contains { $0.index == base && $0.term != snapshot.metadata.term }
        for e in entries where e.index > base && !divergent {
            guard e.index == base + (kept.count + 1), e.term >= (kept.last?.term ?? snapshot.metadata.term) else { break }
            kept.append(e)
        }
        self.entries = kept
        let last = base + kept.count
        self.committed = max(base, min(commit, last))
        self.applied = base
        self.stable = last
    }

    public var snapshotIndex: LogIndex { snapshot.metadata.index }
    public var firstIndex: LogIndex { snapshotIndex + 1 }
    public var lastIndex: LogIndex { snapshotIndex + entries.count }
    public var lastTerm: Term { entries.last?.term ?? snapshot.metadata.term }
    public var lastID: EntryID { EntryID(index: lastIndex, term: lastTerm) }

    /// The term of the entry at `index`; nil when compacted away or beyond the end.
    public func term(at index: LogIndex) -> Term? {
        if index == snapshotIndex { return snapshot.metadata.term }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[index - firstIndex].term
    }

    public func matchTerm(_ index: LogIndex, _ term: Term) -> Bool { self.term(at: index) == term }

    public func entry(at index: LogIndex) -> Entry? {
        guard index >= firstIndex, index <= lastIndex else { return nil }
        return entries[index - firstIndex]
    }

    /// Raft §5.4.1: a candidate's log is at least as up-to-date as ours.
    public func isUpToDate(lastIndex: LogIndex, lastTerm: Term) -> Bool {
        lastTerm > self.lastTerm || (lastTerm == self.lastTerm && lastIndex >= self.lastIndex)
    }

    /// Entries `from...to` (inclusive), stopping before their bytes pass `maxBytes` but
    /// always at least one; nil when `from` is compacted away.
    public func entries(from: LogIndex, through to: LogIndex, maxBytes: Int = .max) -> [Entry]? {
        guard from >= firstIndex else { return nil }
        let end = min(to, lastIndex)
        guard from <= end else { return [] }
        var out: [Entry] = []
        var bytes = 0
        var i = from - firstIndex
        let last = end - firstIndex
        while i <= last {
            let e = entries[i]
            bytes += e.byteCount
            if !out.isEmpty && bytes > maxBytes { break }
            out.append(e)
            i += 1
        }
        return out
    }

    var hasUnstableEntries: Bool { stable < lastIndex }

    /// Entries not yet persisted.
    var unstableEntries: [Entry] {
        guard stable < lastIndex else { return [] }
        return Array(entries[(stable + 1 - firstIndex)...])
    }

    /// The first committed entry not yet handed to the application.
    var nextToApply: LogIndex { max(applied, snapshotIndex) + 1 }
    var hasEntriesToApply: Bool { committed >= nextToApply }
    func entriesToApply(maxBytes: Int) -> [Entry] {
        guard hasEntriesToApply else { return [] }
        return entries(from: nextToApply, through: committed, maxBytes: maxBytes) ?? []
    }

    /// The position in `incoming` of the first entry that is new or conflicts with ours
    /// (Raft Figure 2, AppendEntries rule 3); nil when we hold all of them already.
    func firstConflict(in incoming: [Entry]) -> Int? {
        for (position, e) in incoming.enumerated() {
            guard let t = term(at: e.index) else {
                // Beyond our end — new — or compacted (below our snapshot), which only holds
                // committed entries that the leader must agree with.
                if e.index > lastIndex { return position }
                continue
            }
            if t != e.term { return position }
        }
        return nil
    }

    /// The last index at or below `index` whose term is at most `term`: every entry between
    /// it and `index` has a larger term, so none of them can match an entry of `term` or
    /// earlier (the search both sides of fast backtracking make).
    func lastIndex(atOrBelow index: LogIndex, withTermAtMost term: Term) -> LogIndex {
        var i = min(index, lastIndex)
        while i > snapshotIndex {
            if let t = self.term(at: i), t <= term { return i }
            i = i - 1
        }
        return snapshotIndex
    }

    /// Appends `incoming`, whose first index is in `firstIndex ... lastIndex + 1`; entries at
    /// and after it are replaced. Returns true when an existing suffix was truncated.
    @discardableResult
    mutating func append(_ incoming: ArraySlice<Entry>) -> Bool {
        guard let first = incoming.first else { return false }
        precondition(first.index >= firstIndex && first.index <= lastIndex + 1, "append leaves a gap")
        precondition(first.index > committed, "append would overwrite committed entry \(first.index)")
        var truncated = false
        if first.index <= lastIndex {
            entries.removeSubrange((first.index - firstIndex)...)
            truncated = true
            if stable >= first.index { stable = first.index - 1 }
        }
        entries.append(contentsOf: incoming)
        return truncated
    }

    mutating func commit(to index: LogIndex) -> Bool {
        let target = min(index, lastIndex)
        guard target > committed else { return false }
        committed = target
        return true
    }

    /// Entries through `id` were persisted (unless the log changed since the `Ready`).
    mutating func stableTo(_ id: EntryID) {
        guard id.index > stable, matchTerm(id.index, id.term) else { return }
        stable = id.index
    }

    mutating func snapshotPersisted(_ index: LogIndex) {
        if snapshotPending && snapshotIndex == index {
            snapshotPending = false
            applied = max(applied, index)
        }
    }

    /// Replaces the whole log with a leader's snapshot (Raft §7: "discard the entire log").
    mutating func restore(_ s: Snapshot) {
        snapshot = s
        entries = []
        committed = s.metadata.index
        stable = s.metadata.index
        snapshotPending = true
    }

    /// Drops entries through `s.metadata.index`, which the application's snapshot covers.
    mutating func compact(_ s: Snapshot) {
        let index = s.metadata.index
        precondition(index > snapshotIndex && index <= applied, "compaction outside snapshot...applied")
        entries.removeFirst(index - snapshotIndex)
        snapshot = s
    }

    /// The configuration in effect after the entry at `index` and the index of the entry
    /// that set it (the snapshot's index when the log holds none at or below `index`).
    func configuration(atOrBefore index: LogIndex) -> (Configuration, LogIndex) {
        var i = min(index, lastIndex)
        while i > snapshotIndex {
            if case let .configuration(c) = entries[i - firstIndex].payload { return (c, i) }
            i = i - 1
        }
        return (snapshot.metadata.configuration, snapshotIndex)
    }

    /// Bytes of entries in `(after, through]`, for the leader's uncommitted budget.
    func bytes(after: LogIndex, through: LogIndex) -> Int {
        var total = 0
        var i = max(after + 1, firstIndex)
        let end = min(through, lastIndex)
        while i <= end { total += entries[i - firstIndex].byteCount; i = i + 1 }
        return total
    }
}
