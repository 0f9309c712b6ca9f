import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards

// The lock service's leader duties (docs/locks.md, "Driver contract"): leader clocks set up
// on takeover and kept in step with the table, expiry and wait-timeout proposals, the drop
// fan-out after a session ends at home, the audit that catches a lost drop, and the deadlock
// detector's reports, refreshes and rounds.
extension Node {

    // MARK: leadership and notifications (after every drive)

    func followLeadership() {
        let changes = host.takeLeadershipChanges()
        defer { followCacheLeadership(changes) }
        for (shard, leading) in changes {
            if leading, let table = host.machine(of: shard)?.locks {
                duties.leaders[shard] = takeOverClocks(table)
                if shard == LockDuties.detectorShard {
                    let term = host.status(of: shard)?.term.value ?? 0
                    duties.detector = try? DeadlockDetector(firstEpoch: term << 32)
                }
            } else if !leading {
                duties.leaders[shard] = nil
                duties.echo[shard] = nil
                duties.reportedEmpty.remove(shard)
                if shard == LockDuties.detectorShard { duties.detector = nil }
                for key in duties.parked.keys.sorted() where key.shard == shard {
                    // The new leader holds the wait (it is in the replicated table): the same
                    // request id finds it there.
                    for r in duties.parked.removeValue(forKey: key) ?? [] { reroute(r, shard: shard) }
                }
            }
        }
    }

    /// The clocks of a shard this node just took over. Every open session gets TTL plus the
    /// takeover grace (the longest election plus the drift allowance) from now: the old
    /// leader may have renewed it just before it lost its quorum, and that renewal must run
    /// out on the client's clock before this leader may expire the session.
    func takeOverClocks(_ table: LockTable) -> LockDuties.Clocks {
        // Default clock settings are valid by construction.
        let leases = (try? SessionLeases()) ?? { preconditionFailure("default lease settings") }()
        let waits = (try? WaitDeadlines()) ?? { preconditionFailure("default wait settings") }()
        var clocks = LockDuties.Clocks(leases: leases, waits: waits, takeoverAt: time.now)
        let home = table.homeSessions()
        clocks.leases.becameLeader(sessions: home, now: time.now, grace: takeoverGrace)
        clocks.waits.becameLeader(waits: table.allWaiters(), now: time.now)
        clocks.tracked = Set(home.map(\.id))
        clocks.reconciledAt = table.appliedIndex
        clocks.reconciledTime = time.now
        return clocks
    }

    var takeoverGrace: Interval { settings.plantedBugs.takeoverWithoutGrace ? .zero : settings.takeoverGrace }

    /// A session open in the table that the clocks miss (opened by an entry of an earlier
    /// term applied after the takeover): it gets a lease, with what remains of the takeover
    /// grace.
    func adopt(_ session: SessionID, ttlMillis: UInt64, into clocks: inout LockDuties.Clocks) {
        let graceLeft = clocks.takeoverAt + takeoverGrace - time.now
        clocks.leases.opened(session, ttlMillis: ttlMillis, now: time.now, grace: max(.zero, graceLeft))
        clocks.tracked.insert(session)
    }

    /// Answers parked acquires whose waits the last applied entries settled.
    func settleNotifications() {
        let events = host.takeEvents()
        for (shard, notification) in events {
            duties.leaders[shard]?.waits.forget(settledBy: [notification])
            let key = LockDuties.WaitKey(shard: shard, session: notification.session, name: notification.name,
                                         requestID: notification.requestID)
            guard let waiting = duties.parked.removeValue(forKey: key) else { continue }
            for r in waiting {
                switch notification {
                case let .granted(_, name, mode, _, token): reply(r.replyTo, .granted(name: name, mode: mode, token: token))
                case let .waitFailed(_, _, _, reason): reply(r.replyTo, Node.failure(reason))
                }
            }
        }
    }

    // MARK: every tick

    func performLockDuties() {
        let now = time.now
        for shard in duties.leaders.keys.sorted() {
            guard var clocks = duties.leaders[shard], let table = host.machine(of: shard)?.locks else { continue }
            if now - clocks.reconciledTime >= .seconds(1), table.appliedIndex != clocks.reconciledAt {
                clocks.reconciledTime = now
                reconcile(&clocks, with: table, shard: shard)
            }
            let expired = clocks.leases.expired(at: now)
            let due = clocks.waits.due(at: now)
            duties.leaders[shard] = clocks
            for session in expired {
                counters.expiryProposals &+= 1
                log(.info, "session expired", ["session": session.description, "shard": shard.description])
                propose(shard, requestID: Array("expire-\(session)".utf8), .lock(.expireSession(session)),
                        for: .chore(.expire(shard: shard, session: session)))
            }
            for wait in due {
                counters.timeoutProposals &+= 1
                propose(shard, requestID: Array("timeout-\(wait.session)-\(wait.requestID)".utf8), .lock(wait.cancel(.timeout)),
                        for: .chore(.timeout(shard: shard)))
            }
        }
        let detectorSettings = duties.detector?.settings ?? DetectorSettings()
        if now - duties.lastReport >= detectorSettings.reportInterval {
            duties.lastReport = now
            for shard in duties.leaders.keys.sorted() { reportWaitEdges(shard, force: false) }
        }
        if duties.detector != nil, now - duties.lastDetection >= detectorSettings.detectionInterval {
            duties.lastDetection = now
            runDetector()
        }
        if now - duties.lastAudit >= settings.auditInterval {
            duties.lastAudit = now
            duties.confirmed = duties.confirmed.filter { now - $0.value <= settings.sessionConfirmationLife }
            auditForeignSessions()
        }
        continueFanouts()
        let due = choreRetries.filter { $0.at <= now }
        choreRetries.removeAll { $0.at <= now }
        for c in due { proposeAnywhere(c.shard, requestID: c.requestID, c.command, chore: c.chore, deadline: c.deadline) }
    }

    /// The clocks adopt what the table holds and they do not (entries of earlier terms
    /// applied after the takeover), and forget sessions that ended — fanning their end out,
    /// since an entry this leader did not propose may have ended them.
    func reconcile(_ clocks: inout LockDuties.Clocks, with table: LockTable, shard: ShardID) {
        clocks.reconciledAt = table.appliedIndex
        let open = table.homeSessions()
        let openIDs = Set(open.map(\.id))
        for s in open where !clocks.tracked.contains(s.id) {
            adopt(s.id, ttlMillis: s.ttlMillis ?? 10_000, into: &clocks)
        }
        for s in clocks.tracked.sorted() where !openIDs.contains(s) {
            clocks.leases.forget(s)
            clocks.tracked.remove(s)
            if table.isDead(s) { dropEverywhere(s, except: shard) }
        }
        for w in table.allWaiters() where clocks.waits.deadline(of: w.name, session: w.session) == nil {
            clocks.waits.register(w.name, session: w.session, requestID: w.requestID, waitMillis: w.waitMillis, now: time.now)
        }
    }

    /// A leader's own command settled.
    func choreSettled(_ chore: LeaderChore, _ outcome: ShardReply.Outcome) {
        guard case .applied = outcome else { return }
        switch chore {
        case let .expire(shard, session):
            duties.leaders[shard]?.leases.forget(session)
            duties.leaders[shard]?.tracked.remove(session)
            dropEverywhere(session, except: shard)
        case let .drop(session, shard):
            duties.fanouts[session]?.pending.remove(shard)
            if duties.fanouts[session]?.pending.isEmpty == true { duties.fanouts[session] = nil }
        case .timeout, .victim, .auditDrop:
            break
        }
    }

    // MARK: ending a session everywhere

    /// After a session ended on its home shard: drop it on every other shard (its holds and
    /// waits there end too). First one call per node — each drops it on the shards it leads —
    /// then, after `dropFanoutGrace`, shard by shard through each leader for whatever no
    /// node covered, retried for `dropRetryWindow`; the audit catches anything left.
    func dropEverywhere(_ session: SessionID, except home: ShardID) {
        guard duties.fanouts[session] == nil else { return }
        let pending = Set((0..<shardCount).map { ShardID($0) }).subtracting([home])
        guard !pending.isEmpty else { return }
        duties.fanouts[session] = LockDuties.Fanout(pending: pending, started: time.now)
        for shard in pending.sorted() where host.isLeader(of: shard) {
            counters.dropsSent &+= 1
            propose(shard, requestID: Array("drop-\(session)".utf8), .lock(.dropSession(session)),
                    for: .chore(.drop(session: session, shard: shard)))
        }
        for (pid, peer) in peers.sorted(by: { $0.key < $1.key }) where peer.live && peer.sameShardSet {
            counters.dropsSent &+= 1
            _ = call(pid, .dropSession(session), budget: .seconds(3), purpose: .drop(session))
        }
    }

    /// The shard-by-shard phase of drop fan-outs, and forgetting those that ran out of time.
    func continueFanouts() {
        for session in duties.fanouts.keys.sorted() {
            guard var f = duties.fanouts[session] else { continue }
            if f.pending.isEmpty || time.now - f.started > settings.dropRetryWindow {
                duties.fanouts[session] = nil
                continue
            }
            guard time.now - f.started >= settings.dropFanoutGrace, !f.perShard else { continue }
            f.perShard = true
            duties.fanouts[session] = f
            for shard in f.pending.sorted() {
                counters.dropsSent &+= 1
                proposeAnywhere(shard, requestID: Array("drop-\(session)".utf8), .lock(.dropSession(session)),
                                chore: .drop(session: session, shard: shard), deadline: time.now + settings.dropRetryWindow)
            }
        }
    }

    /// Proposes a leader's own command to `shard` wherever its leader is, until `deadline`.
    func proposeAnywhere(_ shard: ShardID, requestID: [UInt8], _ command: ShardCommand, chore: LeaderChore, deadline: Instant) {
        guard time.now < deadline else { return }
        if host.isLeader(of: shard) {
            propose(shard, requestID: requestID, command, for: .chore(chore))
            return
        }
        let bytes = command.encoded()
        let purpose = CallPurpose.propose(chore, shard: shard, requestID: requestID, command: bytes, deadline: deadline)
        guard let target = target(for: shard), call(target, .propose(shard: shard, requestID: requestID, command: bytes),
                                                   budget: .seconds(3), purpose: purpose) else {
            return // the fan-out's audit, or the detector's next round, tries again
        }
    }

    /// A remote proposal of a leader's own command ended: applied, or to be tried again.
    func remoteProposalEnded(_ chore: LeaderChore, shard: ShardID, requestID: [UInt8], command: [UInt8], deadline: Instant,
                             _ answer: PeerReply?) {
        if case let .applied(bytes)? = answer {
            choreSettled(chore, .applied(index: LogIndex(0), reply: bytes))
            return
        }
        guard time.now < deadline, let command = try? ShardCommand(decoding: command) else { return }
        choreRetries.append(ChoreRetry(at: time.now + .milliseconds(100), chore: chore, shard: shard, requestID: requestID,
                                       command: command, deadline: deadline))
    }

    /// Every foreign session a shard led here knows (holds or waits) is checked with its
    /// home shard now and then; one the home says is dead is dropped here. This is what makes
    /// a lost `dropSession` harmless.
    func auditForeignSessions() {
        for shard in duties.leaders.keys.sorted() {
            guard let table = host.machine(of: shard)?.locks else { continue }
            for info in table.knownSessions() where info.ttlMillis == nil && Int(info.id.home) != shard.index {
                let home = ShardID(Int(info.id.home))
                guard home.index < shardCount else { continue }
                if host.isLeader(of: home) {
                    if standing(of: info.id) == .dead { auditDrop(info.id, on: shard) }
                } else if let target = target(for: home) {
                    _ = call(target, .sessionState(info.id), budget: .seconds(2), purpose: .audit(session: info.id, shard: shard))
                }
            }
        }
    }

    func auditDrop(_ session: SessionID, on shard: ShardID) {
        guard host.isLeader(of: shard) else { return }
        propose(shard, requestID: Array("drop-\(session)".utf8), .lock(.dropSession(session)), for: .chore(.auditDrop(shard: shard)))
    }

    // MARK: deadlock detection

    /// Sends `shard`'s wait-for edges to the detector (shard 0's leader), echoing the epoch of
    /// the detector's latest refresh request for it. An empty report is skipped unless it
    /// answers a refresh or replaces edges sent before.
    func reportWaitEdges(_ shard: ShardID, force: Bool) {
        guard let table = host.machine(of: shard)?.locks else { return }
        let edges = table.waitEdges()
        let echo = duties.echo[shard] ?? 0
        let number = UInt16(truncatingIfNeeded: shard.value)
        if duties.detector != nil {
            duties.detector?.report(shard: number, edges: edges, epoch: echo, at: time.now)
            duties.echo[shard] = duties.detector?.epoch
            return
        }
        // No edges, and none the detector could still hold (it took an empty report from
        // this leader last, or never took one): nothing to say unless it asked.
        if edges.isEmpty && !force && (echo == 0 || duties.reportedEmpty.contains(shard)) { return }
        if !edges.isEmpty { duties.reportedEmpty.remove(shard) }
        guard let leader = host.leader(of: LockDuties.detectorShard), leader != id, peers[leader]?.live == true else { return }
        counters.deadlockReportsSent &+= 1
        _ = call(leader, .deadlockReport(shard: number, epoch: echo, edges: edges), budget: .seconds(1),
                 purpose: .report(shard: shard, empty: edges.isEmpty))
    }

    /// One detection round: each victim's wait is cancelled on its shard; every shard whose
    /// confirmation is needed is asked for a fresh report echoing the round's epoch
    /// (docs/locks.md, "Phantom cycles").
    func runDetector() {
        guard var detector = duties.detector else { return }
        let round = detector.detect(at: time.now)
        duties.detector = detector
        for victim in round.victims {
            counters.deadlockVictims &+= 1
            log(.info, "deadlock: failing the wait of the session that opened last", ["victim": victim.description])
            let shard = ShardID(Int(victim.shard))
            guard shard.index < shardCount else { continue }
            proposeAnywhere(shard, requestID: Array("deadlock-\(victim.session)-\(victim.requestID)".utf8), .lock(victim.cancel),
                            chore: .victim(shard: shard), deadline: time.now + .seconds(5))
        }
        for number in round.refresh {
            let shard = ShardID(Int(number))
            if host.isLeader(of: shard) {
                duties.echo[shard] = round.epoch
                reportWaitEdges(shard, force: true)
            } else if let leader = host.leader(of: shard), leader != id, peers[leader]?.live == true {
                _ = call(leader, .deadlockRefresh(shard: number, epoch: round.epoch), budget: .seconds(1), purpose: .refresh)
            }
        }
    }
}
