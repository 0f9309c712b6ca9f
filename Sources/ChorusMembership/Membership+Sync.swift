import ChorusBase

// Full-state anti-entropy (push-pull), joining through seeds, reconnecting to members held
// dead (partition healing) and graceful leave.
extension Membership {

    /// The table as gossip records, tombstones and ourselves included, except the slots set
    /// in `known` (a bitset), and only members in `buckets` (of `bucketCount`) when given.
    /// With `named` (a bitset), tombstones only of the slots set there: a peer ignores the
    /// death of a member it does not hold.
    func exportState(except known: [UInt64] = [], tombstonesOf named: [UInt64]? = nil, buckets: Set<Int>? = nil,
                     bucketCount: Int = 1) -> [MemberUpdate] {
        var out: [MemberUpdate] = []
        out.reserveCapacity(buckets == nil ? table.memberCount : 16)
        for s in 0..<table.slotCount where !table[Int32(s)].isFree {
            if s / 64 < known.count && known[s / 64] & (1 << UInt64(s % 64)) != 0 { continue }
            if let named, !table[Int32(s)].status.isLive, !(s / 64 < named.count && named[s / 64] & (1 << UInt64(s % 64)) != 0) { continue }
            if let buckets, !buckets.contains(StateDigest.bucket(of: table[Int32(s)].name, count: bucketCount)) { continue }
            out.append(update(for: Int32(s)))
        }
        return out
    }

    /// Fingerprints of the table in `count` buckets (see `StateDigest`), kept up to date at
    /// our own digest size and folded (`MemberTable.digest`).
    mutating func digest(buckets count: Int) -> [UInt64] {
        table.digest(buckets: count, keeping: digestBuckets)
    }

    /// Buckets for a digest sync: about four members per bucket.
    var digestBuckets: Int {
        var b = 8
        while b < table.memberCount / 4 && b < PushPull.maxBuckets { b *= 2 }
        return b
    }

    /// Where to answer a sync from `sender`: by stream, to the address the sender gives for
    /// itself (`stated`, from its state) or the one we hold (a stream's source is only an
    /// ephemeral port); by datagram, whose source may be forged, only to the source or to
    /// the address we held for the sender before its packet was applied — never to an
    /// address the packet names, or it would aim our whole state at a victim.
    func syncReplyAddress(sender: String, source: Endpoint, stated: Endpoint?, via transport: Transport) -> Endpoint {
        switch transport {
        case .datagram:
            return datagramReplyTo ?? source
        case .stream:
            if let stated { return stated }
            if let s = table.slot(of: sender), s != localSlot { return table[s].address }
            return source
        }
    }

    mutating func onPushPull(_ state: PushPull, sender: String, from source: Endpoint, via transport: Transport, now: Instant,
                             into out: inout [MembershipEffect]) {
        if state.phase == .request, let digest = state.digest {
            answerDigest(digest, state: state, sender: sender, source: source, via: transport, now: now, into: &out)
            return
        }
        // Reserve for what may be added, but never past the cap: a hostile sync naming a
        // million members must not make us allocate for them.
        let room = min(state.members.count, settings.maxMembers) - table.memberCount
        if room > 0 { table.reserve(room) }
        // New members are news worth gossiping when a join request brings them (a newcomer,
        // or a whole other cluster merging in), or when the reply to our join shows a cluster
        // we were not part of although we already knew others (a merge). A fresh node's join
        // reply and routine anti-entropy bring what the cluster already knows.
        let alone = table.liveCount <= 1
        // In a small cluster re-gossiping costs nothing and closes the gap left when several
        // nodes join at the same instant (each join reply misses the others): spread
        // everything, as memberlist does. Above that, bulk news is left to the syncs.
        let small = table.liveCount < Membership.smallCluster
        let spread = small || state.isJoin && (state.phase == .request || !alone)
        let known = table.memberCount
        // Which of our members the peer already knows exactly as we do: those are left out
        // of what we send back, which carries only what the peer lacks.
        let wantsDelta = state.phase == .request || state.buckets.map { !$0.isEmpty } == true
        let words = wantsDelta ? (table.slotCount + state.members.count + 63) / 64 : 0
        var peerKnows = [UInt64](repeating: 0, count: words)
        // Which members the peer named at all: a reply carries tombstones only of those.
        var peerNamed = [UInt64](repeating: 0, count: words)
        var stated: Endpoint?
        forEachLookedUp(state.members) { m, k, hint in
            let u = state.members[k]
            if u.name == sender { stated = u.address }
            let slot = m.apply(u, via: .pushPull(spreadNewMembers: spread || u.name == sender && state.phase == .request), sender: sender,
                               hint: hint, now: now, into: &out)
            if wantsDelta && Int(slot) / 64 < peerKnows.count {
                let r = m.table[slot], bit: UInt64 = 1 << UInt64(Int(slot) % 64)
                if slot != m.localSlot || u.name == m.name { peerNamed[Int(slot) / 64] |= bit }
                // Known exactly as we hold it — address and tags too: a member restarted
                // under its old name with a new address or tags at the same incarnation
                // must hear of its old self, so that it outranks it.
                if r.incarnation == u.incarnation && r.status == u.status && r.address == u.address
                    && (!r.status.isLive || r.tags == u.tags) {
                    peerKnows[Int(slot) / 64] |= bit
                }
            }
        }
        let replyTo = syncReplyAddress(sender: sender, source: source, stated: stated, via: transport)
        // Learning members from a sync means the cluster is in flux: sync again soon, with
        // someone else, until a sync brings nothing new to either side. A lone join request
        // (the sender itself is all that is new) does not count. Right after joining a node
        // catches up at least twice, so a node whose first partners knew little still learns
        // the rest of a cluster that was itself still forming.
        let learned = table.memberCount - known
        let inFlux: Bool
        switch state.phase {
        case .request: inFlux = learned > 1
        case .response: inFlux = learned > 0 || state.responderLearned
        case .push: inFlux = learned > 0
        }
        if state.phase == .response && state.isJoin, case .joining = joinState { catchUpsOwed = 2 }
        if (inFlux || catchUpsOwed > 0 && state.phase == .response) && catchUpAt == nil {
            let jitter = Interval(nanoseconds: Int64(rng.below(Int(max(1, settings.joinCatchUp.nanoseconds)))))
            catchUpAt = now + settings.joinCatchUp + jitter
        }
        switch state.phase {
        case .request:
            let reply = PushPull(isJoin: state.isJoin, phase: .response, responderLearned: table.memberCount > known + 1,
                                 members: exportState(except: peerKnows, tombstonesOf: peerNamed))
            send(.pushPull(reply), to: replyTo, via: .stream, into: &out)
        case .response:
            if let buckets = state.buckets, !buckets.isEmpty, let count = state.bucketCount {
                // Digest sync, last step: push back what the responder lacks in those buckets.
                let push = exportState(except: peerKnows, buckets: Set(buckets.map { Int($0) }), bucketCount: count)
                if !push.isEmpty {
                    send(.pushPull(PushPull(isJoin: false, phase: .push, members: push)), to: replyTo, via: .stream, into: &out)
                }
            }
            if state.isJoin, case .joining = joinState { joinState = .joined }
        case .push:
            break
        }
    }

    /// Digest sync, responder's step: send our members in the buckets that differ.
    mutating func answerDigest(_ theirs: [UInt64], state: PushPull, sender: String, source: Endpoint, via transport: Transport,
                               now: Instant, into out: inout [MembershipEffect]) {
        let small = table.liveCount < Membership.smallCluster
        var stated: Endpoint?
        forEachLookedUp(state.members) { m, k, hint in
            let u = state.members[k]
            if u.name == sender { stated = u.address }
            m.apply(u, via: .pushPull(spreadNewMembers: small), sender: sender, hint: hint, now: now, into: &out)
        }
        let replyTo = syncReplyAddress(sender: sender, source: source, stated: stated, via: transport)
        let count = theirs.count
        guard count > 0, count & (count - 1) == 0, count <= PushPull.maxBuckets else { return }
        let mine = digest(buckets: count)
        var differing: [UInt32] = []
        for b in 0..<count where mine[b] != theirs[b] { differing.append(UInt32(b)) }
        var reply = PushPull(isJoin: false, phase: .response, buckets: differing, members: [])
        reply.bucketCount = count
        if !differing.isEmpty {
            reply.members = exportState(buckets: Set(differing.map { Int($0) }), bucketCount: count)
        }
        send(.pushPull(reply), to: replyTo, via: .stream, into: &out)
    }

    /// Starts a digest sync with one random alive member.
    mutating func startPushPull(now: Instant, into out: inout [MembershipEffect]) {
        guard let peer = randomMembers(1, where: { $0.status == .alive }).first else { return }
        sendDigest(to: peer, into: &out)
    }

    /// The first step of a digest sync with the member in `peer`.
    mutating func sendDigest(to peer: Int32, into out: inout [MembershipEffect]) {
        // Our own entry rides along so the peer can answer even if it does not know us yet.
        let state = PushPull(isJoin: false, phase: .request, digest: digest(buckets: digestBuckets), members: [update(for: localSlot)])
        send(.pushPull(state), to: table[peer].address, via: .stream, into: &out)
    }

    /// Serf-style reconnect: a digest sync with one member we hold dead. If it is in fact
    /// alive (the two of us were partitioned), it answers with what differs — itself alive
    /// among it — and we push back what it lacks, our verdict on it included, which it
    /// refutes. A digest, not the whole table: most such members really are dead, and a
    /// full state built for each of them every period was the largest cost of a large
    /// cluster after a mass crash.
    mutating func reconnect(now: Instant, into out: inout [MembershipEffect]) {
        guard table.counts[Int(MemberStatus.dead.rawValue)] > 0 else { return }
        guard let peer = randomMembers(1, where: { $0.status == .dead }).first else { return }
        sendDigest(to: peer, into: &out)
    }

    // MARK: join

    /// Joins the cluster through any of `seeds` (our own address is skipped): a push-pull
    /// with each, retried with doubling backoff until one answers. Also merges two clusters
    /// when called on a running node.
    public mutating func join(seeds: [Endpoint], at now: Instant, into out: inout [MembershipEffect]) {
        let others = seeds.filter { $0 != address }
        guard !others.isEmpty else {
            if case .idle = joinState { joinState = .joined }
            return
        }
        joinState = .joining(seeds: others, attempt: 0, retryAt: now + settings.joinTimeout)
        // Announce ourselves as SWIM does: once the join reply names members, our own alive
        // update spreads among exactly those that have not heard of us yet (whoever learns
        // of us by gossip passes it on; those who knew already do not).
        dissemination.enqueue(localSlot, in: &table, news: .joined)
        sendJoin(to: others, into: &out)
    }

    mutating func sendJoin(to seeds: [Endpoint], into out: inout [MembershipEffect]) {
        let state = PushPull(isJoin: true, isResponse: false, members: exportState())
        for s in seeds { send(.pushPull(state), to: s, via: .stream, into: &out) }
    }

    mutating func advanceJoin(now: Instant, into out: inout [MembershipEffect]) {
        switch joinState {
        case let .joining(seeds, attempt, retryAt) where now >= retryAt:
            let next = attempt + 1
            var backoff = settings.joinTimeout
            for _ in 0..<min(next, 20) where backoff < settings.joinBackoffCap { backoff = backoff * 2 }
            joinState = .joining(seeds: seeds, attempt: next, retryAt: now + min(backoff, settings.joinBackoffCap))
            sendJoin(to: seeds, into: &out)
        default:
            break
        }
    }

    /// Whether the node is still trying seeds, and how many attempts it made.
    public var joinAttempts: Int? {
        if case let .joining(_, attempt, _) = joinState { return attempt }
        return nil
    }

    // MARK: leave

    /// Graceful leave: a `left` update at a higher incarnation than any we used, so it
    /// outranks everything said about us, pushed at once to several members and then
    /// gossiped until sent enough times or `leaveTimeout` passes (`hasLeft`).
    public mutating func leave(at now: Instant, into out: inout [MembershipEffect]) {
        guard case .active = leaveState else { return }
        table.setIncarnation(localSlot, raised(table[localSlot].incarnation))
        table.setStatus(localSlot, .left)
        table[localSlot].changedAt = now
        probe = nil
        dissemination.enqueue(localSlot, in: &table)
        leaveState = .leaving(deadline: now + settings.leaveTimeout)
        out.append(.event(event(.left, localSlot, now)))
        let targets = randomMembers(settings.gossipFanout * 2) { $0.status.isLive }
        for t in targets {
            let p = packet(.gossip, transport: .datagram)
            guard !p.updates.isEmpty else { break }
            counters.sentCounts[.gossip] += 1
            out.append(.send(p, to: table[t].address, via: .datagram))
        }
    }
}
