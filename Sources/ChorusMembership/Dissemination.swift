/// SWIM's infection-style dissemination queue: which member updates to piggyback next.
///
/// At most one update per member is queued (a newer fact about a member replaces the older
/// one; the update sent is always the member's current state). Updates are picked least-sent
/// first, newest first among equals, and dropped after `limit` transmissions
/// (memberlist's retransmit limit, λ·⌈log10(N+1)⌉) — or after `joinLimit` when the news is
/// only that a member joined: that has a second path (catch-up syncs), while suspicions,
/// deaths, leaves and refutations race a timeout and get the full redundancy.
/// Invariant: a member is queued ⇔ its record has `isQueued` and an entry with its current
/// `queueToken` sits in bucket `transmits`; other entries are stale and skipped lazily.
struct Dissemination {
    /// `buckets[t]` holds (slot, token) of updates sent `t` times, newest last.
    private var buckets: [[UInt64]] = [[]]
    private var entryCount = 0
    private(set) var queued = 0
    /// The slots the last `select` picked, in order (kept to reuse its storage).
    private(set) var chosen: [Int32] = []
    /// Slots whose update `select` found larger than any datagram can carry: taken off the
    /// queue, to go by stream (the caller empties this).
    var oversized: [Int32] = []
    /// Scratch for `select`: entries to move up to `level` once the walk is over.
    private var promoted: [(level: Int, entry: UInt64)] = []
    var capacityBytes: Int { buckets.reduce(0) { $0 + $1.capacity * 8 } + buckets.capacity * 8 + chosen.capacity * 4 + promoted.capacity * 16 }

    static func pack(_ slot: Int32, _ token: UInt16) -> UInt64 { UInt64(UInt32(bitPattern: slot)) << 32 | UInt64(token) }
    static func unpack(_ e: UInt64) -> (Int32, UInt16) { (Int32(bitPattern: UInt32(e >> 32)), UInt16(truncatingIfNeeded: e)) }

    /// What a queued update tells the cluster.
    enum News { case joined, urgent }

    /// Queues (or re-queues with a zero count) the current state of the member in `slot`.
    mutating func enqueue(_ slot: Int32, in table: inout MemberTable, news: News = .urgent) {
        if !table[slot].isQueued { queued += 1 }
        table[slot].queueToken &+= 1
        table[slot].transmits = 0
        table[slot].isQueued = true
        table[slot].isJoinNews = news == .joined
        buckets[0].append(Dissemination.pack(slot, table[slot].queueToken))
        entryCount += 1
        if entryCount > queued + queued / 2 + 256 { compact(table) }
    }

    /// Forgets the member in `slot` (its slot is being reaped).
    mutating func drop(_ slot: Int32, in table: inout MemberTable) {
        if table[slot].isQueued { queued -= 1 }
        table[slot].isQueued = false
    }

    func isQueued(_ slot: Int32, in table: MemberTable) -> Bool { table[slot].isQueued }

    /// Picks updates whose sizes (from `size`) fit in `budget` bytes, least-sent first, and
    /// counts one transmission for each. The chosen slots are left in `chosen`, in order.
    /// An update larger than `largest` (what an otherwise empty datagram holds) is dequeued
    /// into `oversized`: kept, it would stop its level's walk at every packet. `skipping`
    /// is a slot the caller already carries; it is left queued as it is.
    mutating func select(budget: Int, largest: Int, limit: Int, joinLimit: Int, skipping: Int32 = -1, table: inout MemberTable,
                         size: (borrowing MemberRecord, Int32) -> Int) {
        chosen.removeAll(keepingCapacity: true)
        let limit = min(limit, 63), joinLimit = min(joinLimit, 63)
        guard queued > 0, budget > 0 else { return }
        // Entries sent once more move up a level after the walk, so none is picked twice.
        promoted.removeAll(keepingCapacity: true)
        var room = budget
        var misses = 0
        var level = 0
        table.withRecords { records in
            while level < buckets.count && room > 0 && misses < 4 {
                while let entry = buckets[level].popLast() {
                    entryCount -= 1
                    let (slot, token) = Dissemination.unpack(entry)
                    precondition(slot >= 0 && Int(slot) < records.count, "dissemination entry outside the member table")
                    let r = records.baseAddress.unsafelyUnwrapped + Int(slot)
                    guard r.pointee.isQueued && r.pointee.queueToken == token && Int(r.pointee.transmits) == level else { continue }
                    let cap = r.pointee.isJoinNews ? joinLimit : limit
                    if Int(r.pointee.transmits) >= cap {
                        r.pointee.isQueued = false; queued -= 1
                        continue
                    }
                    if slot == skipping {
                        promoted.append((level, entry))
                        continue
                    }
                    let n = size(r.pointee, slot)
                    if n > largest {
                        r.pointee.isQueued = false; queued -= 1
                        oversized.append(slot)
                        continue
                    }
                    if n > room {
                        buckets[level].append(entry); entryCount += 1
                        misses += 1
                        break
                    }
                    room -= n
                    chosen.append(slot)
                    let sent = Int(r.pointee.transmits) + 1
                    r.pointee.transmits = UInt8(min(sent, 63))
                    if sent >= cap {
                        r.pointee.isQueued = false; queued -= 1
                    } else {
                        promoted.append((sent, entry))
                    }
                }
                // An emptied bucket gives its storage back: at bootstrap every bucket briefly
                // holds an entry per member, and kept capacity would cost ~L·8 bytes per member.
                if buckets[level].isEmpty && buckets[level].capacity > 64 { buckets[level] = [] }
                level += 1
            }
        }
        for (lvl, entry) in promoted {
            while buckets.count <= lvl { buckets.append([]) }
            buckets[lvl].append(entry)
            entryCount += 1
        }
    }

    /// Drops stale entries so memory stays proportional to what is queued.
    private mutating func compact(_ table: MemberTable) {
        entryCount = 0
        for i in buckets.indices {
            buckets[i] = buckets[i].filter { e in
                let (slot, token) = Dissemination.unpack(e)
                let r = table[slot]
                return r.isQueued && r.queueToken == token && Int(r.transmits) == i
            }
            entryCount += buckets[i].count
        }
    }
}
