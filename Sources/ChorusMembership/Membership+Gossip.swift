import ChorusBase

// What a node believes, and how gossip changes it: SWIM's precedence rules (SWIM §4.2),
// refutation of suspicions about oneself, tombstones, and the gossip rounds that spread
// queued updates (SWIM §4.1, infection-style dissemination).
extension Membership {

    /// Where an update came from. Push-pull softens remote death verdicts (see `apply`), and
    /// members first learned from a state sync are not re-gossiped unless the sync brings
    /// news to the cluster (`spreadNewMembers`).
    enum Source: Equatable {
        case gossip
        /// A full-state sync; `spreadNewMembers` when members new to us are news to the
        /// cluster too (a join request from outside, or the reply to a merge).
        case pushPull(spreadNewMembers: Bool)
    }

    /// Applies one update; returns the slot of the member it was about. `hint` is a lookup
    /// of its name done ahead (`forEachLookedUp`); it changes nothing but speed.
    @discardableResult
    mutating func apply(_ u: MemberUpdate, via source: Source, sender: String = "", hint: SlotHint = .unknown,
                        now: Instant, into out: inout [MembershipEffect]) -> Int32 {
        guard isAcceptable(u) else {
            counters.updatesRefused += 1
            return localSlot
        }
        if u.name == name {
            aboutSelf(u, now: now)
            return localSlot
        }
        guard let slot = table.slot(of: u.name, hint: hint) else {
            // Only the member's own `alive` introduces it. The death or leave of a member we
            // do not know is no news to us: taking it in would start a fresh tombstone clock,
            // and tombstones passed on that way between nodes that had each forgotten them
            // would circulate for ever. A suspicion of an unknown member would re-import a
            // name that may be long gone, to linger as `suspect` (memberlist ignores both).
            guard u.status == .alive else { return localSlot }
            guard table.memberCount < settings.maxMembers else {
                counters.membersRefused += 1
                return localSlot
            }
            var spread = true
            if case let .pushPull(s) = source { spread = s }
            return learn(u, sender: sender, spread: spread, now: now, into: &out)
        }
        if u.status == .suspect && !table[slot].status.isLive {
            // A suspicion is about a member someone holds alive; it never brings a dead or
            // left member back (memberlist suspects only members it holds alive). Only the
            // member itself can, with an `alive` at a higher incarnation.
            return slot
        }
        if source != .gossip && u.status == .dead && table[slot].status.isLive {
            // A death verdict in another node's full state may be a partition's artefact:
            // hold it as a suspicion the member can refute (memberlist does the same).
            var softened = u
            softened.status = .suspect
            softened.accusers = [sender.isEmpty ? u.name : sender]
            settle(slot, with: softened, sender: sender, now: now, into: &out)
        } else {
            settle(slot, with: u, sender: sender, now: now, into: &out)
        }
        return slot
    }

    /// The precedence rule for a known member: `incoming` replaces what we hold when it
    /// supersedes it; an equal suspicion counts as a confirmation.
    @inline(__always)
    mutating func settle(_ slot: Int32, with incoming: MemberUpdate, sender: String, now: Instant, into out: inout [MembershipEffect]) {
        let held = (table[slot].incarnation, table[slot].status)
        guard supersedes((incoming.incarnation, incoming.status), held) else {
            if incoming.status == .suspect && held.1 == .suspect && incoming.incarnation == held.0 {
                // Lifeguard: another member suspects it too — an independent confirmation.
                let grew = incoming.accusers.isEmpty ? confirm(slot, accusers: CollectionOfOne(sender), now: now)
                                                     : confirm(slot, accusers: incoming.accusers, now: now)
                if grew { dissemination.enqueue(slot, in: &table) }
            }
            return
        }
        transition(slot, to: incoming, now: now, into: &out)
    }

    /// Calls `body` for each of `updates` in order, with a hint for its slot: the slots are
    /// looked up a batch at a time ahead of use (`MemberTable.resolve`), so that the cache
    /// misses of large tables overlap. `body` may change the table; hints stay correct.
    mutating func forEachLookedUp(_ updates: [MemberUpdate], _ body: (inout Membership, Int, SlotHint) -> Void) {
        let width = MemberTable.lookaheadWidth
        withUnsafeTemporaryAllocation(of: SlotHint.self, capacity: width) { hints in
            var start = 0
            while start < updates.count {
                let n = min(width, updates.count - start)
                table.resolve(n, name: { updates[start + $0].name }, into: hints)
                for k in 0..<n { body(&self, start + k, hints[k]) }
                start += n
            }
        }
    }

    /// The member is unknown and alive (`apply` ignores unknown suspect, dead and left
    /// members): it is added. `spread` says whether to gossip
    /// the new member on: a member learned in bulk from a sync is usually old news to the
    /// rest of the cluster, and re-gossiping every one of them makes the bootstrap of N
    /// nodes cost N²·λ·log N transmissions instead of far fewer.
    mutating func learn(_ u: MemberUpdate, sender: String, spread: Bool, now: Instant, into out: inout [MembershipEffect]) -> Int32 {
        counters.updatesApplied += 1
        let slot = table.insert(MemberRecord(name: u.name, address: u.address, incarnation: u.incarnation,
                                             status: u.status, tags: u.tags, changedAt: now))
        switch u.status {
        case .alive:
            schedule.insert(slot, rng: &rng)
            if spread { dissemination.enqueue(slot, in: &table, news: .joined) }
            out.append(.event(event(.joined, slot, now)))
        case .suspect:
            // Not reached from `apply`; kept total.
            schedule.insert(slot, rng: &rng)
            let accusers = u.accusers.isEmpty ? [sender] : u.accusers
            startSuspicion(slot, incarnation: u.incarnation, accusers: accusers.filter { !$0.isEmpty }, now: now)
            if spread { dissemination.enqueue(slot, in: &table) }
            out.append(.event(event(.joined, slot, now)))
            out.append(.event(event(.suspect, slot, now)))
        case .dead, .left:
            // Not reached (see `apply`); a tombstone still ends.
            scheduleTombstone(slot, now: now)
        }
        return slot
    }

    /// Moves a known member to the state `u` describes, which supersedes what we hold.
    mutating func transition(_ slot: Int32, to u: MemberUpdate, now: Instant, into out: inout [MembershipEffect]) {
        counters.updatesApplied += 1
        let before = table[slot]
        table.setIncarnation(slot, u.incarnation)
        table[slot].changedAt = now
        if before.status != .suspect || u.status != .suspect { suspicions[slot] = nil }
        switch u.status {
        case .alive:
            let moved = before.address != u.address || before.tags != u.tags
            table[slot].address = u.address
            table[slot].tags = u.tags
            table.setStatus(slot, .alive)
            switch before.status {
            case .alive:
                if moved { out.append(.event(event(.updated, slot, now))) }
            case .suspect:
                counters.suspicionsRefuted += 1
                out.append(.event(event(.alive, slot, now)))
                if moved { out.append(.event(event(.updated, slot, now))) }
            case .dead, .left:
                schedule.insert(slot, rng: &rng)
                out.append(.event(event(.joined, slot, now)))
            }
            noteEvidence(from: u.name, now: now)
        case .suspect:
            if !u.tags.isEmpty { table[slot].tags = u.tags }
            table.setStatus(slot, .suspect)
            startSuspicion(slot, incarnation: u.incarnation, accusers: u.accusers.isEmpty ? [u.name] : u.accusers, now: now)
            switch before.status {
            case .alive:
                out.append(.event(event(.suspect, slot, now)))
                verifySuspicion(slot, now: now, into: &out)
            case .suspect:
                break
            case .dead, .left:
                // Not reached from `apply` (a suspicion never revives a tombstone); kept total.
                schedule.insert(slot, rng: &rng)
                out.append(.event(event(.joined, slot, now)))
                out.append(.event(event(.suspect, slot, now)))
            }
        case .dead:
            table.setStatus(slot, .dead)
            // Every new verdict restarts the tombstone's time (`changedAt` moved), so it
            // needs a reaping of its own: the one already scheduled will find it too young.
            scheduleTombstone(slot, now: now)
            if before.status.isLive { out.append(.event(event(.dead, slot, now))) }
        case .left:
            table.setStatus(slot, .left)
            scheduleTombstone(slot, now: now)
            out.append(.event(event(.left, slot, now)))
        }
        dissemination.enqueue(slot, in: &table)
    }

    /// Gossip about ourselves: refute anything that would mark us less than alive, and rise
    /// above incarnations of a previous life (SWIM §4.2; a restarted node wins this way).
    mutating func aboutSelf(_ u: MemberUpdate, now: Instant) {
        let me = table[localSlot]
        guard case .active = leaveState else { return }
        guard u.incarnation >= me.incarnation else { return }
        switch u.status {
        case .alive:
            // Same incarnation and same facts: our own update echoed back.
            if u.incarnation == me.incarnation && u.address == me.address && u.tags == me.tags { return }
        case .suspect, .dead:
            counters.refutations += 1
            health.apply(.refutedSuspicion)
        case .left:
            break
        }
        table.setIncarnation(localSlot, raised(u.incarnation))
        table[localSlot].changedAt = now
        dissemination.enqueue(localSlot, in: &table)
    }

    // MARK: gossip rounds

    /// Sends queued updates to a few random members: live ones, and recently dead ones so
    /// that a member declared dead by mistake learns it and refutes.
    mutating func gossipRound(now: Instant, into out: inout [MembershipEffect]) {
        guard dissemination.queued > 0 else { return }
        let window = settings.gossipToTheDead
        let targets = randomMembers(settings.gossipFanout) { r in
            r.status.isLive || (r.status == .dead && now - r.changedAt < window)
        }
        for t in targets {
            let p = packet(.gossip, transport: .datagram)
            guard !p.updates.isEmpty else { break }
            counters.sentCounts[.gossip] += 1
            out.append(.send(p, to: table[t].address, via: .datagram))
        }
    }

    // MARK: tombstones

    mutating func scheduleTombstone(_ slot: Int32, now: Instant) {
        tombstones.append((now + settings.tombstoneTimeout, slot))
    }

    /// Forgets dead and left members whose tombstone time has passed: a tombstone is
    /// forgotten `tombstoneTimeout` after the last change of what we hold about the member
    /// (`changedAt`: its death, leave, or a later verdict at a higher incarnation), at the
    /// first tick after that instant.
    mutating func reapTombstones(now: Instant) {
        while tombstoneHead < tombstones.count && tombstones[tombstoneHead].deadline <= now {
            let slot = tombstones[tombstoneHead].slot
            tombstoneHead += 1
            guard slot != localSlot, Int(slot) < table.slotCount else { continue }
            let r = table[slot]
            guard !r.isFree, !r.status.isLive, r.changedAt + settings.tombstoneTimeout <= now else { continue }
            dissemination.drop(slot, in: &table)
            suspicions[slot] = nil
            table.remove(slot)
        }
        if tombstoneHead > 1024 && tombstoneHead * 2 > tombstones.count {
            tombstones.removeFirst(tombstoneHead)
            tombstoneHead = 0
        }
    }
}
