import ChorusBase

// Full-state anti-entropy (push-pull), joining through seeds, reconnecting to members held
// dead (partition healing) and graceful leave.
extension Membership {

    /// The whole table as gossip records, tombstones and ourselves included, except the
    /// slots set in `known` (a bitset).
    func exportState(except known: [UInt64] = []) -> [MemberUpdate] {
        var out: [MemberUpdate] = []
        out.reserveCapacity(table.memberCount)
        for s in 0..<table.slotCount where !table[Int32(s)].isFree {
            if s / 64 < known.count && known[s / 64] & (1 << UInt64(s % 64)) != 0 { continue }
            out.append(update(for: Int32(s)))
        }
        return out
    }

    mutating func onPushPull(_ state: PushPull, sender: String, from source: Endpoint, now: Instant, into out: inout [MembershipEffect]) {
        if state.members.count > table.memberCount { table.reserve(state.members.count - table.memberCount) }
        // New members are news worth gossiping when a join request brings them (a newcomer,
        // or a whole other cluster merging in), or when the reply to our join shows a cluster
        // we were not part of although we already knew others (a merge). A fresh node's join
        // reply and routine anti-entropy bring what the cluster already knows.
        let alone = table.liveCount <= 1
        let spread = state.isJoin && (!state.isResponse || !alone)
        var replyTo = source
        let known = table.memberCount
        // Which of our members the peer already knows exactly as we do: those are left out
        // of our reply, which carries only what the peer lacks (a delta, not our whole state).
        var peerKnows = [UInt64](repeating: 0, count: state.isResponse ? 0 : (table.slotCount + state.members.count + 63) / 64)
        for u in state.members {
            if u.name == sender { replyTo = u.address }
            let slot = apply(u, via: .pushPull(spreadNewMembers: spread || u.name == sender && !state.isResponse), sender: sender, now: now, into: &out)
            if !state.isResponse {
                let r = table[slot]
                if r.incarnation == u.incarnation && r.status == u.status && Int(slot) / 64 < peerKnows.count {
                    peerKnows[Int(slot) / 64] |= 1 << UInt64(Int(slot) % 64)
                }
            }
        }
        // Learning members from a sync means the cluster is in flux: sync again soon, with
        // someone else, until a sync brings nothing new to either side. A lone join request
        // (the sender itself is all that is new) does not count. Right after joining a node
        // catches up at least twice, so a node whose first partners knew little still learns
        // the rest of a cluster that was itself still forming.
        let learned = table.memberCount - known
        let inFlux = state.isResponse ? (learned > 0 || state.responderLearned) : learned > 1
        if state.isResponse && state.isJoin, case .joining = joinState { catchUpsOwed = 2 }
        if (inFlux || catchUpsOwed > 0) && catchUpAt == nil && (state.isResponse || inFlux) {
            let jitter = Interval(nanoseconds: Int64(rng.below(Int(max(1, settings.joinCatchUp.nanoseconds)))))
            catchUpAt = now + settings.joinCatchUp + jitter
        }
        if !state.isResponse {
            let reply = PushPull(isJoin: state.isJoin, isResponse: true, responderLearned: table.memberCount > known + 1,
                                 members: exportState(except: peerKnows))
            send(.pushPull(reply), to: replyTo, via: .stream, into: &out)
            return
        }
        if state.isJoin, case .joining = joinState {
            joinState = .joined
        }
    }

    /// Starts a full-state exchange with one random alive member.
    mutating func startPushPull(now: Instant, into out: inout [MembershipEffect]) {
        guard let peer = randomMembers(1, where: { $0.status == .alive }).first else { return }
        let state = PushPull(isJoin: false, isResponse: false, members: exportState())
        send(.pushPull(state), to: table[peer].address, via: .stream, into: &out)
    }

    /// Serf-style reconnect: a push-pull with one member we hold dead. If it is in fact
    /// alive (the two of us were partitioned), each learns the other's view and refutes.
    mutating func reconnect(now: Instant, into out: inout [MembershipEffect]) {
        guard table.counts[Int(MemberStatus.dead.rawValue)] > 0 else { return }
        guard let peer = randomMembers(1, where: { $0.status == .dead }).first else { return }
        let state = PushPull(isJoin: false, isResponse: false, members: exportState())
        send(.pushPull(state), to: table[peer].address, via: .stream, into: &out)
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
        table[localSlot].incarnation &+= 1
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
            counters.sent[.gossip, default: 0] += 1
            out.append(.send(p, to: table[t].address, via: .datagram))
        }
    }
}
