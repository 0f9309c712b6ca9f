import ChorusBase
import ChorusLocks
import ChorusRing
import ChorusShards

// The shard leader's duties, as docs/locks.md's driver contract asks of the agent, plus two
// additions the simulation showed are needed (see `reconcile` and `sweep`).
extension LockWorkload {
    /// Runs after every drive of node `i`: for each shard it leads (in shard order), keeps the
    /// clocks in step with the table, proposes what they say is due, then works on the drops
    /// the node owes.
    func leaderDuties(_ i: Int, _ driver: LockNodeDriver) {
        for shard in driver.leading.keys.sorted() {
            guard var clocks = driver.leading[shard], let table = sim.nodes[i].host?.machine(of: shard)?.locks else { continue }
            reconcile(&clocks, with: table, node: i, driver: driver)
            let expired = clocks.leases.expired(at: now)
            let due = clocks.waits.due(at: now)
            if now >= clocks.nextSweep { sweep(&clocks, table: table, shard: shard, node: i, driver: driver) }
            driver.leading[shard] = clocks
            for session in expired {
                if case let .proposed(token) = propose(.expireSession(session), shard: shard, at: i, ledgerID: []) {
                    leaderRequests[token] = .expire(node: i, generation: driver.generation, shard: shard, session: session)
                }
            }
            for wait in due {
                if case let .proposed(token) = propose(wait.cancel(.timeout), shard: shard, at: i, ledgerID: []) {
                    leaderRequests[token] = .cancel(node: i, generation: driver.generation, shard: shard, wait: wait)
                }
            }
        }
        sendDrops(i, driver)
    }

    /// The contract's hooks on the leader that proposed a client's command and now answers
    /// it: an opened session gets a lease, a queued acquire a deadline.
    func leaderSawReply(_ request: ClientRequest, _ reply: LockReply) {
        guard let driver = drivers.indices.contains(request.node) ? drivers[request.node] : nil,
              driver.generation == request.generation, driver.leading[request.shard] != nil else { return }
        switch (request.command, reply) {
        case let (.openSession(ttl, _, _), .sessionOpened(id)):
            driver.leading[request.shard]?.leases.opened(id, ttlMillis: ttl, now: now)
            driver.leading[request.shard]?.tracked.insert(id)
        case let (.acquire(name, session, _, waitMillis, requestID), .waiting):
            driver.leading[request.shard]?.waits.register(name, session: session, requestID: requestID, waitMillis: waitMillis, now: now)
        default:
            break
        }
    }

    /// Brings the clocks in step with the table after it applied something. The contract's
    /// hooks (`opened` after an applied `openSession`, `register` after a `.waiting` reply,
    /// `becameLeader` on winning) see only what this leader proposed and what it had applied
    /// when it won. A new leader learns the commit index only when an entry of its own term
    /// commits, so entries of earlier terms are often applied *after* `becameLeader`: a
    /// session opened by one of them would never get a lease (its locks held for good), a
    /// wait queued by one would never time out, and a session ended by one would never be
    /// fanned out. So: every session open in the table gets a lease, every queued wait a
    /// deadline, and every tracked session that left the table is forgotten and dropped
    /// everywhere (counted as `sessionsAdopted` / `waitsAdopted`).
    func reconcile(_ clocks: inout LockLeaderClocks, with table: LockTable, node i: Int, driver: LockNodeDriver) {
        guard table.appliedIndex != clocks.reconciledAt else { return }
        clocks.reconciledAt = table.appliedIndex
        let open = table.homeSessions()
        let openIDs = Set(open.map(\.id))
        for s in open where !clocks.tracked.contains(s.id) {
            clocks.leases.opened(s.id, ttlMillis: s.ttlMillis ?? settings.ttlMillis, now: now)
            clocks.tracked.insert(s.id)
            counters.sessionsAdopted += 1
        }
        for s in clocks.tracked.sorted() where !openIDs.contains(s) {
            clocks.leases.forget(s)
            clocks.tracked.remove(s)
            owe(drops: s, node: i, driver: driver)
        }
        for w in table.allWaiters() where clocks.waits.deadline(of: w.name, session: w.session) == nil {
            clocks.waits.register(w.name, session: w.session, requestID: w.requestID, waitMillis: w.waitMillis, now: now)
            counters.waitsAdopted += 1
        }
    }

    /// The backstop for a lost fan-out: the home leader that applied a session's end may
    /// crash before its drops are applied elsewhere, and its successor cannot know (the
    /// session is simply gone from its table). So each leader, every two seconds, asks the
    /// home shard about the foreign sessions it still knows; a session the home shard holds
    /// a tombstone for (a definitive answer from any replica: tables hold committed entries
    /// only) and that was already dead at the previous sweep is dropped here.
    func sweep(_ clocks: inout LockLeaderClocks, table: LockTable, shard: ShardID, node i: Int, driver: LockNodeDriver) {
        clocks.nextSweep = now + .seconds(2)
        var dead = Set<SessionID>()
        for info in table.knownSessions() where info.ttlMillis == nil {
            let home = ShardID(Int(info.id.home))
            guard let j = sim.leaderIndex(of: home), reachable(i, j),
                  sim.nodes[j].host?.machine(of: home)?.locks.isDead(info.id) == true else { continue }
            dead.insert(info.id)
            if clocks.suspects.contains(info.id), !driver.hasDrop(info.id, on: shard) {
                counters.dropsByBackstop += 1
                log.append("\(now) \(sim.nodes[i].name): session \(info.id) ended at home but still known on shard \(shard): dropping it")
                driver.drops.append(PendingDrop(session: info.id, shard: shard, via: i, token: nil, notBefore: now))
            }
        }
        clocks.suspects = dead
    }

    /// The session ended on its home shard (this node leads it): `dropSession` is owed to
    /// every other shard.
    func owe(drops session: SessionID, node i: Int, driver: LockNodeDriver) {
        for s in 0..<sim.settings.shards where s != Int(session.home) {
            let shard = ShardID(s)
            guard !driver.hasDrop(session, on: shard) else { continue }
            // Sent on the node's next loop turn (its next drive), as an agent batches them.
            driver.drops.append(PendingDrop(session: session, shard: shard, via: anyReplica(of: shard), token: nil,
                                            notBefore: now + .milliseconds(1)))
        }
    }

    /// Sends every owed drop that is due, to the node believed to lead its shard; retried
    /// (following leader hints) until applied.
    func sendDrops(_ i: Int, _ driver: LockNodeDriver) {
        for k in driver.drops.indices where driver.drops[k].notBefore <= now {
            var d = driver.drops[k]
            if let token = d.token { leaderRequests[token] = nil } // timed out: no reply will come
            d.token = nil
            guard reachable(i, d.via) else {
                d.via = anyReplica(of: d.shard)
                d.notBefore = now + .milliseconds(200)
                driver.drops[k] = d
                continue
            }
            switch propose(.dropSession(d.session), shard: d.shard, at: d.via, ledgerID: []) {
            case let .proposed(token):
                d.token = token
                d.notBefore = now + settings.requestTimeout
                leaderRequests[token] = .drop(node: i, generation: driver.generation, shard: d.shard, session: d.session)
            case .answered:
                d.notBefore = now
            case let .refused(hint):
                d.via = hint ?? anyReplica(of: d.shard)
                d.notBefore = now + (hint == nil ? .milliseconds(50) : .milliseconds(2))
            }
            driver.drops[k] = d
        }
    }

    /// The reply to a proposal a leader made on its own account.
    func settleLeader(_ request: LeaderRequest, outcome: ShardReply.Outcome) {
        switch request {
        case let .expire(i, generation, shard, session):
            guard case let .applied(_, bytes) = outcome else { return } // the lease clock proposes again
            let reply = decode(bytes, of: .expireSession(session))
            if reply == .sessionEnded {
                counters.expiriesApplied += 1
                log.append("\(now) session \(session) expired")
                if let k = sessionOwner[session], clients[k].crashedSession == session, let downtime = homeLeaderCrashes.removeValue(forKey: k) {
                    log.append("\(now) \(sim.nodes[i].name), leader of home shard \(shard), crashes before fanning out the drops")
                    sim.schedule(.crash(i), at: now)
                    sim.schedule(.restart(i), at: now + Interval(seconds: downtime))
                }
            }
            guard let driver = drivers[i], driver.generation == generation, driver.leading[shard] != nil else { return }
            driver.leading[shard]?.leases.forget(session)
            driver.leading[shard]?.tracked.remove(session)
            owe(drops: session, node: i, driver: driver)
        case let .cancel(i, generation, shard, wait):
            guard case .applied = outcome, let driver = drivers[i], driver.generation == generation else { return }
            driver.leading[shard]?.waits.forget(wait.name, session: wait.session)
        case let .drop(i, generation, shard, session):
            guard let driver = drivers[i], driver.generation == generation,
                  let k = driver.drops.firstIndex(where: { $0.session == session && $0.shard == shard }) else { return }
            switch outcome {
            case let .applied(_, bytes):
                let reply = decode(bytes, of: .dropSession(session))
                if reply != .sessionEnded { history.violation("dropSession(\(session)) on shard \(shard) answered \(reply)") }
                driver.drops.remove(at: k)
                counters.dropsApplied += 1
            case .unknown, .readable:
                driver.drops[k].token = nil
                driver.drops[k].notBefore = now + .milliseconds(20)
            }
        }
    }
}
