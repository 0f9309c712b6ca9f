import ChorusBase

/// The SWIM membership protocol with Lifeguard and phi accrual, as a deterministic state
/// machine (sans-I/O).
///
/// Inputs: `receive` (a decoded packet), `tick` (time passed), `join`, `leave`, `setTags`.
/// Each appends the effects the driver must carry out (sends and events) to an output
/// array; nothing here touches a socket, a clock or a thread. Time arrives as `Instant`s,
/// randomness from the seeded generator given at creation. `nextDeadline` says when the
/// driver must call `tick` next.
///
/// Where the rules live: probing and suspicion in `Membership+Probe.swift` (SWIM §4,
/// Lifeguard §IV), the precedence and refutation rules in `Membership+Gossip.swift`,
/// state sync, join, reconnect and leave in `Membership+Sync.swift`.
///
/// Invariants: the local member is always in the table at `localSlot`; only the local node
/// raises its own incarnation; the view of every other member only moves forward in the
/// `(incarnation, status)` order, except for push-pull's softening of remote death
/// verdicts into suspicions.
public struct Membership {
    public let settings: MembershipSettings
    public let name: String
    public var address: Endpoint { table[localSlot].address }
    public var incarnation: Incarnation { table[localSlot].incarnation }
    public var tags: Tags { table[localSlot].tags }

    var table: MemberTable
    var localSlot: Int32 = 0
    var rng: SeededRandom
    var dissemination = Dissemination()
    var schedule = ProbeSchedule()
    var health: LocalHealth
    /// Response times of all members, the prior for members with few samples of their own.
    var clusterResponses = PhiAccrual()
    var probe: ProbeInFlight?
    /// A suspected member to verify with the next probe instead of the round-robin's pick.
    var verifyNext: Int32?
    var relays: [Relay] = []
    var suspicions: [Int32: Suspicion] = [:]
    var suspicionDeadlines = DeadlineHeap()
    var tombstones: [(deadline: Instant, slot: Int32)] = []
    var tombstoneHead = 0
    var sequence: UInt32 = 0
    /// While a push-pull datagram is handled: the address held for its sender before its
    /// updates were applied (nil: unknown sender, answer only the datagram's source).
    var datagramReplyTo: Endpoint?

    var nextProbeAt: Instant
    var nextGossipAt: Instant
    var nextPushPullAt: Instant
    var nextReconnectAt: Instant
    var joinState: JoinState = .idle
    /// A state sync due soon because the last one taught us members we did not know
    /// (adaptive anti-entropy: the cluster is in flux, e.g. bootstrapping or merging).
    var catchUpAt: Instant?
    /// Catch-up syncs still due after joining, whatever they bring.
    var catchUpsOwed = 0
    var leaveState: LeaveState = .active

    public internal(set) var counters = MembershipCounters()

    /// Creates the state machine for the local member `name` reachable at `address`.
    /// `incarnation` lets a restarted node start above what it used before, when it kept it.
    public init(name: String, address: Endpoint, tags: Tags = Tags(), incarnation: Incarnation = 0,
                settings: MembershipSettings, seed: UInt64, now: Instant) throws(SettingsError) {
        try settings.validate()
        guard !name.isEmpty, name.utf8.count <= PacketCodec.maxNameBytes else {
            throw SettingsError("node name must be 1...\(PacketCodec.maxNameBytes) bytes, got \"\(name)\"")
        }
        self.settings = settings
        self.name = name
        self.rng = SeededRandom(seed: seed)
        self.table = MemberTable(seed: rng.next())
        self.health = LocalHealth(maximum: settings.maxLocalHealth)
        self.localSlot = table.insert(MemberRecord(name: name, address: address, incarnation: incarnation,
                                                   status: .alive, tags: tags, changedAt: now))
        // Spread first timers over one period so that nodes started together do not beat in step.
        nextProbeAt = now + Interval(nanoseconds: Int64(rng.below(Int(settings.probeInterval.nanoseconds))))
        nextGossipAt = now + Interval(nanoseconds: Int64(rng.below(Int(settings.gossipInterval.nanoseconds))))
        // The first routine sync comes one period plus jitter after start: earlier, during a
        // bootstrap, every digest would differ and routine syncs would move whole states.
        nextPushPullAt = now + settings.pushPullInterval + Interval(nanoseconds: Int64(rng.below(Int(settings.pushPullInterval.nanoseconds))))
        nextReconnectAt = now + settings.reconnectInterval + Interval(nanoseconds: Int64(rng.below(Int(settings.reconnectInterval.nanoseconds))))
    }

    // MARK: views

    /// Members known, tombstones included.
    public var memberCount: Int { table.memberCount }
    /// Members counted alive or suspect (the local member included).
    public var liveCount: Int { table.liveCount }
    public func count(of status: MemberStatus) -> Int { table.counts[Int(status.rawValue)] }
    public var localHealthScore: Int { health.score }
    public var hasJoined: Bool {
        switch joinState {
        case .joined: return true
        case .idle, .joining: return false
        }
    }
    /// True once a graceful leave has been disseminated (or its time ran out).
    public var hasLeft: Bool { if case .left = leaveState { return true }; return false }
    public var isLeaving: Bool { if case .active = leaveState { return false }; return true }

    /// A read-only snapshot of one member.
    public struct MemberInfo: Sendable, Hashable {
        public var name: String
        public var address: Endpoint
        public var status: MemberStatus
        public var incarnation: Incarnation
        public var tags: Tags
        /// Current phi of the failure detector for this member (0 for the local member).
        public var phi: Double
        public var changedAt: Instant
        public var isLocal: Bool
    }

    public func member(named name: String, at now: Instant) -> MemberInfo? {
        guard let slot = table.slot(of: name) else { return nil }
        return info(slot, now: now)
    }

    /// All known members sorted by name (deterministic order).
    public func members(at now: Instant) -> [MemberInfo] {
        var out: [MemberInfo] = []
        out.reserveCapacity(table.memberCount)
        for s in 0..<table.slotCount where !table[Int32(s)].isFree { out.append(info(Int32(s), now: now)) }
        out.sort { $0.name < $1.name }
        return out
    }

    /// Status of one member without building a snapshot (cheap, for simulators).
    public func status(of name: String) -> MemberStatus? {
        guard let slot = table.slot(of: name) else { return nil }
        return table[slot].status
    }

    func info(_ slot: Int32, now: Instant) -> MemberInfo {
        let r = table[slot]
        return MemberInfo(name: r.name, address: r.address, status: r.status, incarnation: r.incarnation,
                          tags: r.tags, phi: slot == localSlot ? 0 : phi(of: slot, now: now),
                          changedAt: r.changedAt, isLocal: slot == localSlot)
    }

    /// Bytes held by the main per-member structures (capacity, not count), for reports.
    public var footprint: [(String, Int)] {
        [("records", table.recordCapacity * MemoryLayout<MemberRecord>.stride),
         ("name index", table.indexBytes),
         ("digest", table.fingerprintBytes),
         ("probe order", schedule.capacity * 4),
         ("dissemination", dissemination.capacityBytes),
         ("suspicions", suspicions.capacity * 48 + suspicionDeadlines.count * 32),
         ("tombstones", tombstones.capacity * 16)]
    }

    /// The earliest instant at which `tick` has work to do.
    public var nextDeadline: Instant {
        var d = nextGossipAt
        if case .active = leaveState { d = min(d, nextProbeAt) }
        d = min(d, nextPushPullAt)
        d = min(d, nextReconnectAt)
        if let p = probe { d = min(d, p.phase == .direct ? p.directDeadline : p.indirectDeadline) }
        for r in relays { d = min(d, r.nackAt) }
        if let top = suspicionDeadlines.peek { d = min(d, top.deadline) }
        if tombstoneHead < tombstones.count { d = min(d, tombstones[tombstoneHead].deadline) }
        switch joinState {
        case let .joining(_, _, retryAt): d = min(d, retryAt)
        case .idle, .joined: break
        }
        if let c = catchUpAt { d = min(d, c) }
        if case let .leaving(deadline) = leaveState { d = min(d, deadline) }
        return d
    }

    // MARK: inputs

    /// Time passed: fire every timer that is due.
    public mutating func tick(at now: Instant, into out: inout [MembershipEffect]) {
        expireSuspicions(now: now, into: &out)
        reapTombstones(now: now)
        expireRelays(now: now, into: &out)
        advanceProbe(now: now, into: &out)
        if now >= nextGossipAt {
            gossipRound(now: now, into: &out)
            nextGossipAt = now + settings.gossipInterval
        }
        if now >= nextPushPullAt {
            if case .active = leaveState { startPushPull(now: now, into: &out) }
            nextPushPullAt = now + pushPullPeriod
        }
        if now >= nextReconnectAt {
            if case .active = leaveState { reconnect(now: now, into: &out) }
            nextReconnectAt = now + settings.reconnectInterval
        }
        advanceJoin(now: now, into: &out)
        if let c = catchUpAt, now >= c {
            catchUpAt = nil
            catchUpsOwed = max(0, catchUpsOwed - 1)
            if case .active = leaveState { startPushPull(now: now, into: &out) }
        }
        if case let .leaving(deadline) = leaveState, now >= deadline || !table[localSlot].isQueued {
            leaveState = .left
        }
    }

    /// A packet arrived from `source` (the datagram's or connection's peer address) by
    /// `transport`: what came by stream is answered by stream, and what came by datagram is
    /// answered only to its source or to known members (its source may be forged).
    public mutating func receive(_ packet: Packet, from source: Endpoint, via transport: Transport = .datagram, at now: Instant,
                                 into out: inout [MembershipEffect]) {
        guard packet.cluster == settings.cluster else {
            counters.droppedWrongCluster += 1
            return
        }
        counters.receivedCounts[packet.message.kind] += 1
        if packet.sender == name {
            // Our own packet reflected back (or a name clash): never act on it.
            counters.droppedSelf += 1
            return
        }
        // Where a push-pull request by datagram may be answered is settled before its
        // updates can change what we hold about its sender.
        if case .pushPull = packet.message, transport == .datagram, let s = table.slot(of: packet.sender) {
            datagramReplyTo = table[s].address
        } else {
            datagramReplyTo = nil
        }
        if !packet.updates.isEmpty {
            counters.updatesReceived += packet.updates.count
            forEachLookedUp(packet.updates) { m, k, hint in
                m.apply(packet.updates[k], via: .gossip, hint: hint, now: now, into: &out)
            }
        }
        switch packet.message {
        case let .ping(seq, target):
            onPing(seq: seq, target: target, sender: packet.sender, from: source, via: transport, now: now, into: &out)
        case let .pingReq(seq, target, _, timeout):
            // The address in a ping-req is the requester's belief; we ping the one we hold.
            onPingReq(seq: seq, target: target, timeout: timeout, from: source, now: now, into: &out)
        case let .ack(seq):
            onAck(seq: seq, sender: packet.sender, via: transport, now: now, into: &out)
        case let .nack(seq):
            onNack(seq: seq, sender: packet.sender, now: now)
        case .gossip:
            break
        case let .pushPull(state):
            onPushPull(state, sender: packet.sender, from: source, via: transport, now: now, into: &out)
        }
        noteEvidence(from: packet.sender, now: now)
    }

    /// Changes the local member's tags and announces them (as a fresh alive update).
    public mutating func setTags(_ tags: Tags, at now: Instant, into out: inout [MembershipEffect]) {
        guard tags != table[localSlot].tags else { return }
        table[localSlot].tags = tags
        table.setIncarnation(localSlot, raised(table[localSlot].incarnation))
        table[localSlot].changedAt = now
        dissemination.enqueue(localSlot, in: &table)
        out.append(.event(event(.updated, localSlot, now)))
    }

    // MARK: shared helpers

    mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// Below this many live members every member learned from a sync is gossiped on too.
    static let smallCluster = 64

    /// Retransmit limit λ·⌈log10(N+1)⌉ for the current cluster size.
    var retransmitLimit: Int { settings.retransmitMultiplier * sizeDigits }
    /// The limit for "a member joined" news: in clusters under `largeCluster` never below 8
    /// transmissions (what they need to see a join within a second); in large clusters,
    /// where bootstrap gossip volume is the cost that matters, λ_join·⌈log10(N+1)⌉, and the
    /// few members a join's gossip misses learn it from a sync.
    var joinRetransmitLimit: Int {
        let limit = settings.joinRetransmitMultiplier * sizeDigits
        return min(retransmitLimit, table.liveCount < Membership.largeCluster ? max(8, limit) : limit)
    }
    /// From this many live members on, join news gets no more than its multiplier's share.
    static let largeCluster = 1_000
    /// ⌈log10(N+1)⌉, but at least 2: in a cluster of fewer than 9 members memberlist's
    /// formula allows only λ sends per update, and an update sent 4 times among a handful of
    /// members arriving at once misses one of them too often; 8 sends cost nothing there.
    var sizeDigits: Int {
        var n = table.liveCount + 1, digits = 0
        while n > 0 { digits += 1; n /= 10 }
        return max(2, digits)
    }

    /// Routine anti-entropy period. Memberlist stretches it by log2(N/32) because its syncs
    /// carry the whole state; ours send a digest (8 bytes per 4 members) and only what
    /// differs, so the period stays fixed and the backstop for lost gossip stays short.
    var pushPullPeriod: Interval { settings.pushPullInterval }

    func event(_ kind: MemberEvent.Kind, _ slot: Int32, _ now: Instant) -> MemberEvent {
        let r = table[slot]
        return MemberEvent(kind: kind, name: r.name, address: r.address, incarnation: r.incarnation, tags: r.tags, at: now)
    }

    /// The gossip form of what we hold about the member in `slot`.
    func update(for slot: Int32) -> MemberUpdate {
        let r = table[slot]
        var accusers: [String] = []
        if r.status == .suspect, let s = suspicions[slot] { accusers = s.accusers }
        return MemberUpdate(name: r.name, address: r.address, incarnation: r.incarnation, status: r.status,
                            tags: r.status == .alive || r.status == .suspect ? r.tags : Tags(), accusers: accusers)
    }

    /// The encoded size of the update `update(for: slot)` would build from `r`.
    static func updateSize(_ r: borrowing MemberRecord, suspicion: Suspicion?) -> Int {
        var n = 1 + ByteWriterSizes.string(r.name) + ByteWriterSizes.endpoint(r.address) + ByteWriterSizes.varint(UInt64(r.incarnation))
        if (r.status == .alive || r.status == .suspect) && !r.tags.isEmpty { n += r.tags.encodedSize }
        if r.status == .suspect, let s = suspicion {
            n += ByteWriterSizes.varint(UInt64(s.accusers.count))
            for a in s.accusers { n += ByteWriterSizes.string(a) }
        }
        return n
    }

    /// Room for piggybacked updates in a datagram carrying `message`.
    func piggybackRoom(_ message: Message) -> Int {
        settings.datagramBudget - PacketCodec.headerSize(sender: name) - PacketCodec.bodySize(message) - PacketCodec.gossipCountSize(PacketCodec.maxPiggyback)
    }

    /// Builds a packet for `message`, piggybacking as many queued updates as fit the
    /// datagram budget, least-sent first — after `buddy`'s update when given (Lifeguard's
    /// buddy system: a ping to a suspect carries the suspicion, whatever its send count).
    /// Queued updates too large for any datagram are left in `dissemination.oversized`
    /// for `streamOversized`.
    mutating func packet(_ message: Message, transport: Transport, buddy: Int32? = nil) -> Packet {
        var p = Packet(cluster: settings.cluster, sender: name, message: message)
        guard transport == .datagram else { return p }
        var room = piggybackRoom(message)
        let suspicions = self.suspicions
        if let b = buddy {
            let n = Membership.updateSize(table[b], suspicion: suspicions[b])
            if n <= room {
                room -= n
                p.updates.append(update(for: b))
            }
        }
        let largest = piggybackRoom(.gossip), limit = retransmitLimit, joinLimit = joinRetransmitLimit
        dissemination.select(budget: room, largest: largest, limit: limit, joinLimit: joinLimit, skipping: buddy ?? -1, table: &table) { r, slot in
            Membership.updateSize(r, suspicion: suspicions[slot])
        }
        if !dissemination.chosen.isEmpty {
            p.updates.reserveCapacity(p.updates.count + dissemination.chosen.count)
            for slot in dissemination.chosen { p.updates.append(update(for: slot)) }
        }
        return p
    }

    mutating func send(_ message: Message, to: Endpoint, via transport: Transport = .datagram, buddy: Int32? = nil,
                       into out: inout [MembershipEffect]) {
        let p = packet(message, transport: transport, buddy: buddy)
        counters.sentCounts[message.kind] += 1
        out.append(.send(p, to: to, via: transport))
        streamOversized(into: &out)
    }

    /// Sends each update that no datagram can hold over the stream, to `gossipFanout` live
    /// members, instead of leaving it at the head of its dissemination level where it
    /// would block every update behind it. Each receiver that takes it in does the same
    /// once, so it spreads like gossip; digest syncs reach whoever it misses.
    mutating func streamOversized(into out: inout [MembershipEffect]) {
        guard !dissemination.oversized.isEmpty else { return }
        let slots = dissemination.oversized
        dissemination.oversized.removeAll()
        for slot in slots where !table[slot].isFree {
            counters.updatesStreamed += 1
            let p = Packet(cluster: settings.cluster, sender: name, message: .gossip, updates: [update(for: slot)])
            for t in randomMembers(settings.gossipFanout, excluding: slot, where: { $0.status.isLive }) {
                counters.sentCounts[.gossip] += 1
                out.append(.send(p, to: table[t].address, via: .stream))
            }
        }
    }

    /// Up to `count` distinct random members other than ourselves and `excluding`, matching `accept`.
    mutating func randomMembers(_ count: Int, excluding: Int32 = -1, where accept: (MemberRecord) -> Bool) -> [Int32] {
        guard count > 0 else { return [] }
        var picked: [Int32] = []
        let n = table.slotCount
        guard n > 1 else { return [] }
        // Rejection sampling is O(count) when most slots qualify (the common case), and
        // stays cheaper than a scan when tombstones fill most of the table (after churn of
        // names): the tries grow with slots per live member, up to half a scan ...
        let sparseness = n / max(1, table.liveCount)
        let budget = min(count * 8 * max(1, sparseness), max(count * 8, n / 2))
        var tries = 0
        while picked.count < count && tries < budget {
            tries += 1
            let s = Int32(rng.below(n))
            if s == localSlot || s == excluding || picked.contains(s) { continue }
            let r = table[s]
            if !r.isFree && accept(r) { picked.append(s) }
        }
        if picked.count == count { return picked }
        // ... and a reservoir sample over every slot is the exact fallback.
        var reservoir: [Int32] = []
        var seen = 0
        for i in 0..<n {
            let s = Int32(i)
            if s == localSlot || s == excluding { continue }
            let r = table[s]
            guard !r.isFree && accept(r) else { continue }
            seen += 1
            if reservoir.count < count {
                reservoir.append(s)
            } else {
                let j = rng.below(seen)
                if j < count { reservoir[j] = s }
            }
        }
        return reservoir
    }
}

/// Encoded sizes without encoding (mirrors `ByteWriter`).
enum ByteWriterSizes {
    @inline(__always) static func varint(_ v: UInt64) -> Int {
        var n = 1, x = v
        while x >= 0x80 { x >>= 7; n += 1 }
        return n
    }
    @inline(__always) static func string(_ s: String) -> Int { let n = s.utf8.count; return varint(UInt64(n)) + n }
    @inline(__always) static func endpoint(_ e: Endpoint) -> Int { e.ip.isIPv4 ? 7 : 19 }
}

/// Counters the state machine keeps; the runtime exports them as metrics.
public struct MembershipCounters: Sendable {
    /// Messages sent and received by kind (kinds never seen are absent).
    public var sent: [MessageKind: Int] {
        get { sentCounts.dictionary }
        set { sentCounts = MessageCounts(newValue) }
    }
    public var received: [MessageKind: Int] {
        get { receivedCounts.dictionary }
        set { receivedCounts = MessageCounts(newValue) }
    }
    var sentCounts = MessageCounts()
    var receivedCounts = MessageCounts()
    public var probes = 0
    public var probesFailed = 0
    public var acks = 0
    public var nacksReceived = 0
    public var nacksSent = 0
    public var pingReqsSent = 0
    public var suspicionsRaised = 0
    /// Suspicions about this node that it refuted.
    public var refutations = 0
    /// Suspicions about others that ended with the member alive again.
    public var suspicionsRefuted = 0
    public var deathsDeclared = 0
    /// Piggybacked updates received, and those that changed this node's view.
    public var updatesReceived = 0
    public var updatesApplied = 0
    public var droppedWrongCluster = 0
    public var droppedSelf = 0
    public var droppedNotForUs = 0
    public var relaysRefused = 0
    /// Fallback probes sent over the stream after a datagram probe timed out, and those
    /// answered over the stream (a member reachable, but not by datagram).
    public var streamProbes = 0
    public var streamProbeAnswers = 0
    /// Updates too large for any datagram, sent over the stream instead.
    public var updatesStreamed = 0
    /// New members ignored because the table was full (`maxMembers`).
    public var membersRefused = 0
    /// Updates ignored because their incarnation is out of range (an accusation at the
    /// largest incarnation could never be refuted).
    public var updatesRefused = 0
    /// Probe round-trip histogram: upper bounds in seconds, counts per bucket (the last
    /// bucket counts everything above the largest bound), and the sum.
    public static let roundTripBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
    public var roundTripCounts = [Int](repeating: 0, count: 12)
    public var roundTripSum = 0.0

    mutating func recordRoundTrip(_ seconds: Double) {
        var i = 0
        while i < MembershipCounters.roundTripBounds.count && seconds > MembershipCounters.roundTripBounds[i] { i += 1 }
        roundTripCounts[i] += 1
        roundTripSum += seconds
    }
}
