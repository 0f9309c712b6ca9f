/// Reading a group's log back: served from the in-memory index, bytes from the segment files
/// (or from the unsynced buffer), every record's CRC checked again on the way out.
extension SegmentLog {
    /// The groups with any state in the log, in order.
    public var groups: [UInt64] { table.sortedGroups }

    /// The first index `entries` can serve: the snapshot mark + 1 (1 for an unknown group).
    public func firstIndex(group: UInt64) -> UInt64 { (table[group]?.snapshot.index ?? 0) + 1 }

    /// The last entry's index, or the snapshot mark's when no entry follows it (0 if none).
    public func lastIndex(group: UInt64) -> UInt64 { table[group]?.lastIndex ?? 0 }

    /// The term of entry `index`: known for live entries and for the snapshot mark's index
    /// (0 for index 0); nil otherwise.
    public func term(group: UInt64, index: UInt64) -> UInt64? { (table[group] ?? GroupLog()).term(at: index) }

    /// The latest hard state set for `group`, if any.
    public func hardState(group: UInt64) -> HardState? { table[group]?.hardState }

    /// The group's snapshot mark (`.zero` when none).
    public func snapshotMark(group: UInt64) -> SnapshotMark { table[group]?.snapshot ?? .zero }

    /// Entries `from ..< to` of `group` (half-open, like etcd's `Entries(lo, hi)`), stopping
    /// before the payloads would exceed `maxBytes` but always returning at least one entry when
    /// the range is not empty. Appended entries are readable before they are synced.
    /// Throws `compacted` when `from` is at or below the snapshot mark and `unavailable` when
    /// `to` passes the last index + 1.
    public func entries(group: UInt64, from: UInt64, to: UInt64, maxBytes: Int = .max) throws(StorageError) -> [LogEntry] {
        try checkUsable()
        guard from <= to else { throw .invalidRange(group: group, from: from, to: to) }
        let g = table[group] ?? GroupLog()
        guard from >= g.firstIndex else { throw .compacted(group: group, index: from, firstIndex: g.firstIndex) }
        guard to <= g.lastIndex + 1 else { throw .unavailable(group: group, index: to - 1, lastIndex: g.lastIndex) }
        if from == to { return [] }

        // Decide how many entries fit before reading any (payload size = frame - fixed part).
        let fixed = RecordFrame.headerBytes + RecordType.entry.fixedBodyBytes
        let base = Int(from - g.firstIndex)
        var count = 0, bytes = 0
        for k in base..<base + Int(to - from) {
            bytes += g.entries[k].frameBytes - fixed
            if count > 0 && bytes > maxBytes { break }
            count += 1
        }
        var out: [LogEntry] = []
        out.reserveCapacity(count)
        var k = base
        while k < base + count {
            let run = runLength(g.entries, from: k, limit: base + count)
            try readRun(g.entries[k..<k + run], group: group, firstIndex: from + UInt64(k - base), into: &out)
            k += run
        }
        return out
    }

    /// How many entries from `start` sit close together in one segment's durable part, so one
    /// read can fetch them: the span may hold other groups' records, but stays under 4 MiB and
    /// at most twice the entries' own bytes (or 64 KiB).
    private func runLength(_ entries: [EntryLocation], from start: Int, limit: Int) -> Int {
        let first = entries[start]
        guard let segment = segment(startingAt: first.segment), first.offset < segment.durableBytes else { return 1 }
        var own = first.frameBytes
        var n = 1
        while start + n < limit {
            let next = entries[start + n]
            guard next.segment == first.segment, next.offset > first.offset,
                  next.offset + next.frameBytes <= segment.durableBytes else { break }
            let span = next.offset + next.frameBytes - first.offset
            guard span <= 4 << 20, span <= max(2 * (own + next.frameBytes), 64 << 10) else { break }
            own += next.frameBytes
            n += 1
        }
        return n
    }

    private func readRun(_ run: ArraySlice<EntryLocation>, group: UInt64, firstIndex: UInt64, into out: inout [LogEntry]) throws(StorageError) {
        guard let head = run.first, let last = run.last else { return }
        guard let segment = segment(startingAt: head.segment) else {
            throw .corruptSegment(file: SegmentName.name(head.segment), offset: head.offset, reason: "segment of entry \(firstIndex) of group \(group) is gone")
        }
        let bytes: [UInt8]
        let spanStart: Int
        if head.offset >= segment.durableBytes {
            bytes = segment.pending.bytes
            spanStart = segment.durableBytes
        } else {
            guard let file = segment.file else {
                throw .corruptSegment(file: segment.name, offset: head.offset, reason: "segment file not open")
            }
            bytes = try file.read(at: head.offset, count: last.offset + last.frameBytes - head.offset)
            spanStart = head.offset
        }
        for (i, location) in run.enumerated() {
            let index = firstIndex + UInt64(i)
            let decoded = RecordFrame.decode(bytes, at: location.offset - spanStart, maxRecordBytes: settings.maxRecordBytes)
            guard case let .record(.entry(g, i, t, payload), _, frameBytes) = decoded,
                  g == group, i == index, t == location.term, frameBytes == location.frameBytes else {
                throw .corruptSegment(file: segment.name, offset: location.offset,
                                      reason: "entry \(index) of group \(group) does not read back: \(decoded.summary)")
            }
            out.append(LogEntry(index: index, term: t, payload: payload))
        }
    }

    /// The segment whose first record is `sequence`.
    func segment(startingAt sequence: UInt64) -> Segment? {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].firstSequence < sequence { lo = mid + 1 } else { hi = mid }
        }
        return lo < segments.count && segments[lo].firstSequence == sequence ? segments[lo] : nil
    }

    /// Segment file names, oldest first (for operators and tests).
    public var segmentNames: [String] { segments.map(\.name) }
}

extension RecordFrame.Decoded {
    var summary: String {
        switch self {
        case let .record(r, s, _): return "found \(r.type) #\(s) of group \(r.group)"
        case .end: return "end of data"
        case let .damaged(reason), let .malformed(reason): return reason
        }
    }
}
