/// Where one live entry's record sits: which segment, at what offset, how long the frame is,
/// and the entry's term (kept in memory so term lookups, frequent in Raft, need no read).
/// Invariant: the frame at `offset` in segment `segment` decodes to this entry.
struct EntryLocation: Hashable {
    var segment: UInt64
    var offset: Int
    var frameBytes: Int
    var term: UInt64
}
