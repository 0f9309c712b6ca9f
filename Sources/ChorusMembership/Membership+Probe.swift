import ChorusBase

// SWIM failure detection (SWIM §4.1–4.3) with Lifeguard's local health (Lifeguard §IV.A)
// and a phi-accrual decision of when a probe has failed.
//
// One protocol period, stretched by the local health multiplier m = score + 1:
//   t0                 ping(target); a suspect target's ping carries the suspicion first
//                      (Lifeguard's buddy system), so it hears of it and refutes at once
//   t0 + Td            no ack: ping-req to k random members (they relay, or nack), and
//                      the same ping over the stream (memberlist's TCP fallback), which
//                      a member on a lossy datagram path still answers
//   t0 + Ti            no ack, direct, relayed or streamed: the target is suspected, and
//                      the health score rises by the nacks missing (by 1 with no helpers)
//   t0 + period        next probe
// Td is where the target's phi reaches the threshold (`directTimeout`), times m.
extension Membership {

    // MARK: timeouts

    /// The direct-probe timeout for the member in `slot`, before the health multiplier.
    func directTimeout(_ slot: Int32) -> Interval {
        switch settings.detector {
        case .fixedTimeout:
            return settings.probeTimeout
        case .phiAccrual:
            let own = table[slot].responses
            let estimator = own.count >= 3 ? own : clusterResponses
            guard estimator.count >= 3 else { return settings.probeTimeout }
            let t = estimator.timeout(threshold: settings.phiThreshold, minStdDev: settings.phiMinStdDev)
            let cap = Interval(nanoseconds: settings.probeInterval.nanoseconds / 2)
            return min(max(t, settings.minProbeTimeout), cap)
        }
    }

    /// Phi of the member in `slot` now: of the running probe's wait if it is being probed,
    /// else the phi at which its last probe ended.
    func phi(of slot: Int32, now: Instant) -> Double {
        if let p = probe, p.slot == slot {
            let own = table[slot].responses
            let estimator = own.count >= 3 ? own : clusterResponses
            return estimator.phi(elapsed: now - p.sentAt, minStdDev: settings.phiMinStdDev)
        }
        return Double(table[slot].lastPhi)
    }

    // MARK: the probe cycle

    mutating func advanceProbe(now: Instant, into out: inout [MembershipEffect]) {
        if var p = probe {
            if p.phase == .direct && now >= p.directDeadline {
                p.phase = .indirect
                let helpers = randomMembers(settings.indirectChecks, excluding: p.slot) { $0.status == .alive }
                let target = table[p.slot]
                let relayTimeout = health.scale(directTimeout(p.slot))
                for h in helpers {
                    send(.pingReq(seq: p.seq, target: p.name, address: target.address, timeout: relayTimeout),
                         to: table[h].address, into: &out)
                    counters.pingReqsSent += 1
                }
                p.helpers = helpers.map { table[$0].name }
                if settings.streamProbe {
                    counters.streamProbes += 1
                    send(.ping(seq: p.seq, target: p.name), to: target.address, via: .stream, into: &out)
                }
                probe = p
            }
            if p.phase == .indirect && now >= p.indirectDeadline {
                probe = nil
                probeFailed(p, now: now, into: &out)
            }
        }
        guard case .active = leaveState, now >= nextProbeAt else { return }
        nextProbeAt = now + health.scale(settings.probeInterval)
        if let stale = probe {
            // A probe outlived its period (possible only when the multiplier just fell).
            probe = nil
            probeFailed(stale, now: now, into: &out)
        }
        var next: Int32?
        if let v = verifyNext, Int(v) < table.slotCount, table[v].status == .suspect {
            next = v
        }
        verifyNext = nil
        guard let slot = next ?? schedule.next(table: table, local: localSlot, rng: &rng) else { return }
        startProbe(slot, now: now, into: &out)
    }

    /// Sends the ping that opens a probe of the member in `slot`.
    mutating func startProbe(_ slot: Int32, now: Instant, into out: inout [MembershipEffect]) {
        let seq = nextSequence()
        let direct = health.scale(directTimeout(slot))
        let period = health.scale(settings.probeInterval)
        let indirect: Interval
        switch settings.detector {
        case .fixedTimeout: indirect = period
        case .phiAccrual: indirect = min(direct * 3, period)
        }
        let target = table[slot]
        probe = ProbeInFlight(slot: slot, name: target.name, seq: seq, sentAt: now, phase: .direct,
                              directDeadline: now + direct, indirectDeadline: now + indirect)
        counters.probes += 1
        send(.ping(seq: seq, target: target.name), to: target.address, buddy: target.status == .suspect ? slot : nil, into: &out)
    }

    /// Someone else suspects the member in `slot`: check it ourselves now, so that an
    /// independent confirmation (or none, if it answers) comes within one probe instead of
    /// whenever our round-robin reaches it. Only about 2(K+1) members verify each suspicion,
    /// whatever the cluster size, so a suspected member is not flooded with pings.
    mutating func verifySuspicion(_ slot: Int32, now: Instant, into out: inout [MembershipEffect]) {
        guard case .active = leaveState else { return }
        let wanted = 2.0 * (Double(settings.suspicionConfirmations) + 1)
        let p = min(1, wanted / Double(max(1, table.liveCount - 2)))
        guard rng.unit() < p else { return }
        if probe == nil {
            nextProbeAt = now + health.scale(settings.probeInterval)
            startProbe(slot, now: now, into: &out)
        } else {
            verifyNext = slot
        }
    }

    mutating func probeFailed(_ p: ProbeInFlight, now: Instant, into out: inout [MembershipEffect]) {
        counters.probesFailed += 1
        // Lifeguard: each missing nack is evidence that our own links or process are slow,
        // not the target; with no helpers to tell, any failed probe counts once.
        if p.nacksExpected > 0 {
            if p.nacksReceived < p.nacksExpected { health.apply(.missedNacks(p.nacksExpected - p.nacksReceived)) }
        } else {
            health.apply(.probeFailed)
        }
        guard Int(p.slot) < table.slotCount, table[p.slot].name == p.name else { return }
        let own = table[p.slot].responses
        let estimator = own.count >= 3 ? own : clusterResponses
        table[p.slot].lastPhi = Float(min(300, estimator.phi(elapsed: now - p.sentAt, minStdDev: settings.phiMinStdDev)))
        suspect(p.slot, accuser: name, now: now, into: &out)
    }

    mutating func probeSucceeded(_ p: ProbeInFlight, direct: Bool, now: Instant) {
        probe = nil
        counters.acks += 1
        health.apply(.probeSucceeded)
        guard Int(p.slot) < table.slotCount, table[p.slot].name == p.name else { return }
        let rtt = now - p.sentAt
        let own = table[p.slot].responses
        let estimator = own.count >= 3 ? own : clusterResponses
        table[p.slot].lastPhi = Float(min(300, estimator.phi(elapsed: rtt, minStdDev: settings.phiMinStdDev)))
        counters.recordRoundTrip(rtt.seconds)
        // Samples taken while this node is unhealthy reflect its own slowness, which the
        // health multiplier already accounts for: feeding them to phi would count it twice.
        if direct && health.score == 0 {
            table[p.slot].responses.record(rtt)
            clusterResponses.record(rtt)
        }
    }

    /// Any message from a member proves it alive: a running probe of it ends well.
    mutating func noteEvidence(from sender: String, now: Instant) {
        guard let p = probe, p.name == sender else { return }
        probeSucceeded(p, direct: false, now: now)
    }

    // MARK: handlers

    mutating func onPing(seq: UInt32, target: String, sender: String, from source: Endpoint, via transport: Transport,
                         now: Instant, into out: inout [MembershipEffect]) {
        guard target == name else {
            // Meant for a member that used to live at our address.
            counters.droppedNotForUs += 1
            return
        }
        switch transport {
        case .datagram:
            send(.ack(seq: seq), to: source, into: &out)
        case .stream:
            // A fallback probe: the answer goes back by stream to where the prober listens
            // (a stream's source is the prober's ephemeral port), so only to a known member.
            guard let s = table.slot(of: sender), s != localSlot else {
                counters.droppedNotForUs += 1
                return
            }
            send(.ack(seq: seq), to: table[s].address, via: .stream, into: &out)
        }
    }

    /// Pings `target` for the requester at `source` — only a member we know, at the address
    /// we hold for it: a ping-req must not make us send to an address an outsider picked.
    mutating func onPingReq(seq: UInt32, target: String, timeout: Interval, from source: Endpoint, now: Instant,
                            into out: inout [MembershipEffect]) {
        guard let slot = table.slot(of: target), slot != localSlot, relays.count < settings.maxRelays else {
            counters.relaysRefused += 1
            counters.nacksSent += 1
            send(.nack(seq: seq), to: source, into: &out)
            return
        }
        let mine = nextSequence()
        // Nack at 80% of the requester's window so it arrives before the requester gives up.
        let window = max(Interval.milliseconds(1), min(timeout, settings.probeInterval * 4))
        relays.append(Relay(seq: mine, requester: source, requesterSeq: seq, nackAt: now + window.scaled(0.8)))
        send(.ping(seq: mine, target: target), to: table[slot].address, into: &out)
    }

    mutating func onAck(seq: UInt32, sender: String, via transport: Transport, now: Instant, into out: inout [MembershipEffect]) {
        if let p = probe, p.seq == seq {
            // A streamed answer came after a datagram timeout: its round trip says nothing
            // about the datagram path phi models.
            if transport == .stream { counters.streamProbeAnswers += 1 }
            probeSucceeded(p, direct: sender == p.name && transport == .datagram, now: now)
            return
        }
        if let i = relays.firstIndex(where: { $0.seq == seq }) {
            let r = relays.remove(at: i)
            send(.ack(seq: r.requesterSeq), to: r.requester, into: &out)
        }
    }

    mutating func onNack(seq: UInt32, sender: String, now: Instant) {
        counters.nacksReceived += 1
        if var p = probe, p.seq == seq, p.helpers.contains(sender), !p.nackers.contains(sender) {
            p.nackers.append(sender)
            probe = p
        }
    }

    mutating func expireRelays(now: Instant, into out: inout [MembershipEffect]) {
        guard !relays.isEmpty else { return }
        var i = 0
        while i < relays.count {
            if now >= relays[i].nackAt {
                let r = relays.remove(at: i)
                counters.nacksSent += 1
                send(.nack(seq: r.requesterSeq), to: r.requester, into: &out)
            } else {
                i += 1
            }
        }
    }

    // MARK: suspicion (Lifeguard §IV.B)

    /// Suspects the member in `slot` (or confirms an existing suspicion) on behalf of `accuser`.
    mutating func suspect(_ slot: Int32, accuser: String, now: Instant, into out: inout [MembershipEffect]) {
        let r = table[slot]
        switch r.status {
        case .alive:
            table.setStatus(slot, .suspect)
            table[slot].changedAt = now
            startSuspicion(slot, incarnation: r.incarnation, accusers: [accuser], now: now)
            counters.suspicionsRaised += 1
            dissemination.enqueue(slot, in: &table)
            out.append(.event(event(.suspect, slot, now)))
        case .suspect:
            if confirm(slot, accusers: CollectionOfOne(accuser), now: now) { dissemination.enqueue(slot, in: &table) }
        case .dead, .left:
            break
        }
    }

    var suspicionTimeout: SuspicionTimeout {
        SuspicionTimeout(settings: settings, clusterSize: table.liveCount)
    }

    mutating func startSuspicion(_ slot: Int32, incarnation: Incarnation, accusers: [String], now: Instant) {
        let bounded = Array(accusers.prefix(PacketCodec.maxAccusers))
        let timeout = suspicionTimeout.timeout(confirmations: max(0, bounded.count - 1))
        let s = Suspicion(incarnation: incarnation, startedAt: now, accusers: bounded, deadline: now + timeout)
        suspicions[slot] = s
        suspicionDeadlines.push(s.deadline, slot: slot, incarnation: incarnation)
    }

    /// Adds independent confirmations (empty names are not accusers); returns whether any
    /// accuser was new.
    mutating func confirm(_ slot: Int32, accusers: some Collection<String>, now: Instant) -> Bool {
        guard var s = suspicions[slot] else { return false }
        // A suspicion heard again from the same accusers (the common case) changes nothing:
        // find that out before copying anything.
        guard s.accusers.count < PacketCodec.maxAccusers,
              accusers.contains(where: { !$0.isEmpty && !s.accusers.contains($0) }) else { return false }
        var grew = false
        for a in accusers where !a.isEmpty && !s.accusers.contains(a) && s.accusers.count < PacketCodec.maxAccusers {
            s.accusers.append(a)
            grew = true
        }
        guard grew else { return false }
        let deadline = s.startedAt + suspicionTimeout.timeout(confirmations: s.accusers.count - 1)
        if deadline < s.deadline {
            s.deadline = deadline
            suspicionDeadlines.push(deadline, slot: slot, incarnation: s.incarnation)
        }
        suspicions[slot] = s
        return true
    }

    mutating func expireSuspicions(now: Instant, into out: inout [MembershipEffect]) {
        while let top = suspicionDeadlines.peek, top.deadline <= now {
            _ = suspicionDeadlines.pop()
            guard let s = suspicions[top.slot], s.incarnation == top.incarnation, s.deadline == top.deadline else { continue }
            suspicions[top.slot] = nil
            let r = table[top.slot]
            guard r.status == .suspect, r.incarnation == s.incarnation else { continue }
            declareDead(top.slot, now: now, into: &out)
        }
    }

    mutating func declareDead(_ slot: Int32, now: Instant, into out: inout [MembershipEffect]) {
        table.setStatus(slot, .dead)
        table[slot].changedAt = now
        suspicions[slot] = nil
        counters.deathsDeclared += 1
        dissemination.enqueue(slot, in: &table)
        scheduleTombstone(slot, now: now)
        out.append(.event(event(.dead, slot, now)))
    }
}
