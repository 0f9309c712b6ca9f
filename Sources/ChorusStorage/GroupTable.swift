/// The in-memory index of the shared log: group → `GroupLog`, built by applying records in
/// sequence order. The same `apply` serves appends at run time and replay at recovery, so both
/// follow one set of rules.
///
/// Invariant: `apply` either changes nothing and throws, or applies the whole record; a record
/// that breaks a rule (an index gap, a truncation below the snapshot, a stale mark, removing an
/// unknown group) is refused. Group iteration is in sorted order (Dictionary order differs per
/// process and must not reach the disk).
struct GroupTable {
    /// A rule the record breaks.
    struct Violation: Error { var reason: String }

    private(set) var groups: [UInt64: GroupLog] = [:]

    /// Indices at or above this are refused, so index arithmetic can never overflow however
    /// hostile a checksum-valid record is (2^62 entries is beyond any real log).
    static let indexLimit: UInt64 = 1 << 62

    var count: Int { groups.count }

    /// A group's snapshot index, first and last index — scalars only. Holding a `GroupLog` copy
    /// across a mutation would make its `entries` array non-unique and copy it whole.
    func bounds(of group: UInt64) -> (snapshot: UInt64, first: UInt64, last: UInt64, known: Bool) {
        guard let g = groups[group] else { return (0, 1, 0, false) }
        return (g.snapshot.index, g.firstIndex, g.lastIndex, true)
    }
    var sortedGroups: [UInt64] { groups.keys.sorted() }
    subscript(group: UInt64) -> GroupLog? { groups[group] }

    /// Applies `record`; `location` is where an entry record sits.
    mutating func apply(_ record: Record, at location: (segment: UInt64, offset: Int, frameBytes: Int)) throws(Violation) {
        if let index = record.highestIndex, index >= GroupTable.indexLimit {
            throw Violation(reason: "index \(index) of group \(record.group) beyond the limit \(GroupTable.indexLimit)")
        }
        switch record {
        case let .entry(group, index, term, _):
            let last = groups[group]?.lastIndex ?? 0
            guard index == last &+ 1 else {
                throw Violation(reason: index <= last
                    ? "entry \(index) of group \(group) overwrites without a truncation (last \(last))"
                    : "entry \(index) of group \(group) leaves a gap after \(last)")
            }
            let loc = EntryLocation(segment: location.segment, offset: location.offset, frameBytes: location.frameBytes, term: term)
            groups[group, default: GroupLog()].entries.append(loc)

        case let .truncation(group, from):
            let g = bounds(of: group)
            guard g.known else { throw Violation(reason: "truncation of unknown group \(group)") }
            guard from > g.snapshot else {
                throw Violation(reason: "truncation from \(from) reaches the snapshot at \(g.snapshot)")
            }
            guard from <= g.last else { throw Violation(reason: "truncation from \(from) beyond last index \(g.last)") }
            if from < g.first {
                groups[group]?.entries.removeAll()
                groups[group]?.firstIndex = from
            } else {
                groups[group]?.entries.removeLast(Int(g.last - from + 1))
            }

        case let .hardState(group, hs):
            groups[group, default: GroupLog()].hardState = hs

        case let .snapshotMark(group, mark):
            let g = bounds(of: group)
            guard mark.index > g.snapshot else {
                throw Violation(reason: "snapshot mark \(mark.index) of group \(group) not past \(g.snapshot)")
            }
            if mark.index >= g.last {
                groups[group, default: GroupLog()].entries.removeAll()
                groups[group, default: GroupLog()].firstIndex = mark.index + 1
            } else if mark.index >= g.first {
                groups[group]?.entries.removeFirst(Int(mark.index - g.first + 1))
                groups[group]?.firstIndex = mark.index + 1
            }
            groups[group, default: GroupLog()].snapshot = mark

        case let .groupRemoval(group):
            guard groups.removeValue(forKey: group) != nil else { throw Violation(reason: "removal of unknown group \(group)") }

        case .checkpoint:
            throw Violation(reason: "checkpoint outside a segment's opening records")
        }
    }

    /// Recovery from a segment whose predecessors are gone: the checkpoint sets up the group.
    mutating func establish(_ c: GroupCheckpoint) throws(Violation) {
        guard groups[c.group] == nil else { throw Violation(reason: "second checkpoint for group \(c.group)") }
        guard c.lastIndex < GroupTable.indexLimit else { throw Violation(reason: "checkpoint last index \(c.lastIndex) beyond the limit") }
        groups[c.group] = GroupLog(snapshot: c.snapshot, hardState: c.hardState, firstIndex: c.lastIndex + 1, entries: [])
    }

    /// Recovery from a segment whose predecessors were replayed: the checkpoint must agree.
    func verify(_ c: GroupCheckpoint) throws(Violation) {
        guard let g = groups[c.group] else { throw Violation(reason: "checkpoint for group \(c.group) unknown to earlier segments") }
        guard g.lastIndex == c.lastIndex, g.snapshot == c.snapshot, g.hardState == c.hardState else {
            throw Violation(reason: "checkpoint for group \(c.group) (last \(c.lastIndex), snapshot \(c.snapshot)) disagrees with earlier segments (last \(g.lastIndex), snapshot \(g.snapshot))")
        }
    }

    /// Every group's state, in group order, for the opening records of a new segment.
    func checkpoints() -> [GroupCheckpoint] {
        sortedGroups.compactMap { id in
            groups[id].map { GroupCheckpoint(group: id, lastIndex: $0.lastIndex, snapshot: $0.snapshot, hardState: $0.hardState) }
        }
    }

    /// The first group (in order) with entries known but neither present nor covered by its snapshot.
    func firstMissing() -> (group: UInt64, from: UInt64, through: UInt64)? {
        for id in sortedGroups {
            if let g = groups[id], g.firstIndex > g.snapshot.index + 1 {
                return (id, g.snapshot.index + 1, g.firstIndex - 1)
            }
        }
        return nil
    }

    /// The oldest segment holding a live entry and the group that holds it there. A group's
    /// entries sit in non-decreasing segment order (each is appended after the one before),
    /// so its first entry's segment is its oldest.
    func oldestLiveSegment() -> (segment: UInt64, group: UInt64)? {
        var best: (segment: UInt64, group: UInt64)?
        for id in sortedGroups {
            if let s = groups[id]?.entries.first?.segment, best.map({ s < $0.segment }) ?? true { best = (s, id) }
        }
        return best
    }
}
