import ChorusBase

/// One member as this node sees it, stored compactly: large simulations hold millions.
struct MemberRecord {
    var name: String
    var address: Endpoint
    var incarnation: Incarnation
    var status: MemberStatus
    /// Dissemination bookkeeping (see `Dissemination`).
    var transmits: UInt8 = 0
    var isQueued: Bool = false
    var queueToken: UInt32 = 0
    var tags: Tags
    var changedAt: Instant
    /// Response-time estimator for probes of this member (phi accrual).
    var responses = PhiAccrual()
    /// Phi at which the last probe of this member ended (shown when no probe is running).
    var lastPhi: Float = 0

    var isFree: Bool { name.isEmpty }
}

/// The members this node knows, itself included, in slots addressed by `Int32`.
///
/// Slots are stable while a member is known and reused after its tombstone is reaped.
/// Invariant: `index` maps `name` to `slot` ⇔ `records[slot].name == name` and the slot is in use;
/// `counts[s]` is the number of used slots with status `s`.
struct MemberTable {
    private(set) var records: [MemberRecord] = []
    private var index: NameIndex
    private var free: [Int32] = []
    private(set) var counts: [Int] = [0, 0, 0, 0]

    init(seed: UInt64) { index = NameIndex(seed: seed) }

    var slotCount: Int { records.count }
    var memberCount: Int { index.count }
    var liveCount: Int { counts[0] + counts[1] }

    func slot(of name: String) -> Int32? {
        records.withUnsafeBufferPointer { r in index.find(name) { r[Int($0)].name } }
    }

    subscript(slot: Int32) -> MemberRecord {
        get { records[Int(slot)] }
        _modify { yield &records[Int(slot)] }
    }

    mutating func insert(_ record: MemberRecord) -> Int32 {
        precondition(!record.name.isEmpty && slot(of: record.name) == nil, "member table insert of a known or empty name")
        counts[Int(record.status.rawValue)] += 1
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
            // Carry the dissemination token on so stale queue entries of the slot's former
            // member never match the new one.
            var r = record
            r.queueToken = records[Int(slot)].queueToken &+ 1
            records[Int(slot)] = r
        } else {
            slot = Int32(records.count)
            // Grow by a quarter rather than doubling: tables of large simulated clusters
            // dominate memory, and a doubled array wastes up to half of it.
            if records.count == records.capacity { records.reserveCapacity(records.count + max(16, records.count / 4)) }
            records.append(record)
        }
        index.insert(record.name, slot: slot)
        return slot
    }

    mutating func setStatus(_ slot: Int32, _ status: MemberStatus) {
        let old = records[Int(slot)].status
        guard old != status else { return }
        counts[Int(old.rawValue)] -= 1
        counts[Int(status.rawValue)] += 1
        records[Int(slot)].status = status
    }

    mutating func remove(_ slot: Int32) {
        let r = records[Int(slot)]
        guard !r.isFree else { return }
        counts[Int(r.status.rawValue)] -= 1
        index.remove(r.name, slot: slot)
        var empty = MemberRecord(name: "", address: r.address, incarnation: 0, status: .dead, tags: Tags(), changedAt: r.changedAt)
        empty.queueToken = r.queueToken
        records[Int(slot)] = empty
        free.append(slot)
    }

    /// Reserves room for `extra` more members (before merging a large state).
    mutating func reserve(_ extra: Int) {
        let need = index.count + extra
        if need > records.capacity { records.reserveCapacity(need) }
        index.reserve(need)
    }
}
