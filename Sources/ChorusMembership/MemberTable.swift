import ChorusBase

/// One member as this node sees it, packed into 64 bytes: large simulations hold a
/// hundred million of these. Field order is chosen so small fields fill alignment gaps.
struct MemberRecord {
    var name: String
    private var packedAddress: PackedEndpoint
    /// Set through `MemberTable` only, which keeps the state digest in step.
    fileprivate(set) var status: MemberStatus
    /// Bit 7: queued for dissemination; bit 6: the queued news is only "a member joined";
    /// bits 0-5: transmissions so far (see `Dissemination`).
    private var dissemination: UInt8 = 0
    var queueToken: UInt16 = 0
    /// Set through `MemberTable` only, which keeps the state digest in step.
    fileprivate(set) var incarnation: Incarnation
    /// Response-time estimator for probes of this member (phi accrual).
    var responses = PhiAccrual()
    /// Phi at which the last probe of this member ended, in tenths, saturating at 25.5.
    private var lastPhiTenths: UInt8 = 0
    var tags: Tags
    var changedAt: Instant

    init(name: String, address: Endpoint, incarnation: Incarnation, status: MemberStatus, tags: Tags, changedAt: Instant) {
        self.name = name
        self.packedAddress = PackedEndpoint(address)
        self.incarnation = incarnation
        self.status = status
        self.tags = tags
        self.changedAt = changedAt
    }

    var address: Endpoint {
        get { packedAddress.endpoint }
        set { packedAddress = PackedEndpoint(newValue) }
    }
    var transmits: UInt8 {
        get { dissemination & 0x3F }
        set { dissemination = (dissemination & 0xC0) | min(newValue, 0x3F) }
    }
    var isJoinNews: Bool {
        get { dissemination & 0x40 != 0 }
        set { dissemination = newValue ? dissemination | 0x40 : dissemination & 0xBF }
    }
    var isQueued: Bool {
        get { dissemination & 0x80 != 0 }
        set { dissemination = newValue ? dissemination | 0x80 : dissemination & 0x7F }
    }
    var lastPhi: Float {
        get { Float(lastPhiTenths) / 10 }
        set { lastPhiTenths = UInt8(max(0, min(255, (newValue * 10).rounded()))) }
    }

    var isFree: Bool { name.isEmpty }
}

/// An endpoint in 9 bytes: IPv4 inline, IPv6 boxed (rare in practice).
enum PackedEndpoint {
    case v4(UInt32, UInt16)
    indirect case v6(Endpoint)

    init(_ e: Endpoint) {
        self = e.ip.isIPv4 ? .v4(e.ip.ipv4, e.port) : .v6(e)
    }

    var endpoint: Endpoint {
        switch self {
        case let .v4(ip, port): return Endpoint(ip: IPAddress(ipv4: ip), port: port)
        case let .v6(e): return e
        }
    }
}

/// The members this node knows, itself included, in slots addressed by `Int32`.
///
/// Slots are stable while a member is known and reused after its tombstone is reaped.
/// Invariant: `index` maps `name` to `slot` ⇔ `records[slot].name == name` and the slot is in use;
/// `counts[s]` is the number of used slots with status `s`; `fingerprints`, once built, holds
/// the state digest of the used slots (so names, incarnations and statuses change only here).
struct MemberTable {
    private(set) var records: [MemberRecord] = []
    private(set) var index: NameIndex
    private var free: [Int32] = []
    private(set) var counts: [Int] = [0, 0, 0, 0]
    /// Members inserted so far: a name absent at some count stays absent while it holds.
    private(set) var insertions: UInt64 = 0
    private var fingerprints = DigestFingerprints()

    init(seed: UInt64) { index = NameIndex(seed: seed) }

    var slotCount: Int { records.count }
    var recordCapacity: Int { records.capacity }
    var indexBytes: Int { index.capacity * 8 }
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
        insertions &+= 1
        if fingerprints.count > 0 {
            let key = StateDigest.nameKey(record.name)
            fingerprints.toggle(key: key, fingerprint: StateDigest.fingerprint(key: key, incarnation: record.incarnation, status: record.status))
        }
        return slot
    }

    mutating func setStatus(_ slot: Int32, _ status: MemberStatus) {
        let old = records[Int(slot)].status
        guard old != status else { return }
        counts[Int(old.rawValue)] -= 1
        counts[Int(status.rawValue)] += 1
        changeVersion(slot, incarnation: records[Int(slot)].incarnation, status: status)
    }

    mutating func setIncarnation(_ slot: Int32, _ incarnation: Incarnation) {
        changeVersion(slot, incarnation: incarnation, status: records[Int(slot)].status)
    }

    private mutating func changeVersion(_ slot: Int32, incarnation: Incarnation, status: MemberStatus) {
        let r = records[Int(slot)]
        guard r.incarnation != incarnation || r.status != status else { return }
        if fingerprints.count > 0 && !r.isFree {
            let key = StateDigest.nameKey(r.name)
            fingerprints.toggle(key: key, fingerprint: StateDigest.fingerprint(key: key, incarnation: r.incarnation, status: r.status)
                                    ^ StateDigest.fingerprint(key: key, incarnation: incarnation, status: status))
        }
        records[Int(slot)].incarnation = incarnation
        records[Int(slot)].status = status
    }

    mutating func remove(_ slot: Int32) {
        let r = records[Int(slot)]
        guard !r.isFree else { return }
        counts[Int(r.status.rawValue)] -= 1
        index.remove(r.name, slot: slot)
        if fingerprints.count > 0 {
            let key = StateDigest.nameKey(r.name)
            fingerprints.toggle(key: key, fingerprint: StateDigest.fingerprint(key: key, incarnation: r.incarnation, status: r.status))
        }
        var empty = MemberRecord(name: "", address: r.address, incarnation: 0, status: .dead, tags: Tags(), changedAt: r.changedAt)
        empty.queueToken = r.queueToken
        records[Int(slot)] = empty
        free.append(slot)
    }

    /// Fingerprints of the table in `count` buckets (see `StateDigest`), folded from those kept
    /// up to date at `resolution` buckets (rebuilt by a scan when `resolution` changes). A
    /// `count` above `resolution` takes a scan. Either way equal to `scanDigest(buckets: count)`.
    mutating func digest(buckets count: Int, keeping resolution: Int) -> [UInt64] {
        if fingerprints.count != resolution {
            fingerprints.rebuild(count: resolution, entries: records.lazy.filter { !$0.isFree }.map { r in
                let key = StateDigest.nameKey(r.name)
                return (key, StateDigest.fingerprint(key: key, incarnation: r.incarnation, status: r.status))
            })
        }
        if count <= resolution { return fingerprints.folded(to: count) }
        return scanDigest(buckets: count)
    }

    /// Fingerprints of the table in `count` buckets, computed from every member.
    func scanDigest(buckets count: Int) -> [UInt64] {
        var d = [UInt64](repeating: 0, count: count)
        for r in records where !r.isFree {
            let (b, f) = StateDigest.fingerprint(name: r.name, incarnation: r.incarnation, status: r.status, count: count)
            d[b] ^= f
        }
        return d
    }

    /// Bytes of the kept digest fingerprints.
    var fingerprintBytes: Int { fingerprints.count * 8 }

    /// The records in place, for hot loops that would otherwise pay a uniqueness check per
    /// write. Names, incarnations and statuses must not change through it (the index and
    /// the digest follow them); the latter two cannot.
    mutating func withRecords<R>(_ body: (UnsafeMutableBufferPointer<MemberRecord>) -> R) -> R {
        records.withUnsafeMutableBufferPointer { body($0) }
    }

    /// Reserves room for `extra` more members (before merging a large state).
    mutating func reserve(_ extra: Int) {
        let need = index.count + extra
        if need > records.capacity { records.reserveCapacity(need) }
        index.reserve(need)
    }
}
