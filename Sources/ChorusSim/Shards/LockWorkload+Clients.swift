import ChorusBase
import ChorusLocks
import ChorusRing
import ChorusShards

// The clients' behaviour: open a session at home, keep it alive at the home leader, loop
// over acquire → hold → release; retry every request with its request id until it has a
// definitive answer, following leader hints.
extension LockWorkload {
    var ttl: Interval { .milliseconds(Int64(settings.ttlMillis)) }

    /// The client's next step is due (a pause ended, a hold ended, a retry or poll is due).
    func step(_ c: LockClient) {
        if c.phase == .stopped { return }
        if c.session != nil, now >= c.leaseFrom + ttl { return sessionLost(c, why: "local lease ran out") }
        switch c.phase {
        case .stopped:
            return
        case .idle:
            if c.session == nil {
                let id = c.nextRequestID()
                c.request = LockClient.Request(command: .openSession(ttlMillis: settings.ttlMillis, openedAtMillis: millis(now), requestID: id),
                                               shard: c.home, requestID: id, firstSent: now)
                c.phase = .opening
                send(c)
            } else if now < operationsStopAt {
                startAcquire(c)
            }
        case .opening, .acquiring, .releasing:
            send(c)
        case .waiting:
            if now >= operationsStopAt || now >= c.waitStarted + .milliseconds(Int64(c.waitMillis)) + settings.waitGrace {
                if now < operationsStopAt { counters.waitsAbandoned += 1 }
                release(c)
            } else {
                send(c) // a poll: the same acquire again answers how the wait ended
            }
        case .holding:
            release(c)
        }
    }

    func startAcquire(_ c: LockClient) {
        guard let session = c.session else { return }
        let k = rng.below(names.count)
        c.name = names[k]
        c.mode = rng.unit() < settings.exclusiveShare ? .exclusive : .shared
        c.waitMillis = settings.waitChoicesMillis[rng.below(settings.waitChoicesMillis.count)]
        let id = c.nextRequestID()
        c.request = LockClient.Request(command: .acquire(name: names[k], session: session, mode: c.mode, waitMillis: c.waitMillis, requestID: id),
                                       shard: shardOfName[k], requestID: id, firstSent: now)
        c.phase = .acquiring
        send(c)
    }

    /// Releases the lock held, or withdraws the wait for it.
    func release(_ c: LockClient) {
        guard let session = c.session, let name = c.name, let k = names.firstIndex(of: name) else { return finish(c) }
        c.endBelief(at: now)
        let id = c.nextRequestID()
        c.request = LockClient.Request(command: .release(name: name, session: session, requestID: id),
                                       shard: shardOfName[k], requestID: id, firstSent: now)
        c.phase = .releasing
        send(c)
    }

    /// Sends (or sends again) the client's request to the node it believes leads the shard.
    func send(_ c: LockClient) {
        guard var r = c.request else { return finish(c) }
        let via = c.via[r.shard] ?? anyReplica(of: r.shard)
        r.token = nil
        switch propose(r.command, shard: r.shard, at: via, ledgerID: Array(r.requestID.text.utf8)) {
        case let .proposed(token):
            r.token = token
            c.request = r
            c.via[r.shard] = via
            clientRequests[token] = ClientRequest(client: c.index, op: c.op, command: r.command, shard: r.shard, node: via,
                                                  generation: sim.nodes[via].generation)
            // No answer at all (the node crashed with the proposal): send again.
            scheduleStep(c, after: settings.requestTimeout)
        case let .answered(reply):
            c.request = r
            if reply == .waiting { staleWaitingCheck(c, node: via) }
            answer(c, reply)
        case let .refused(hint):
            c.request = r
            if let hint, hint >= 0, hint < sim.nodes.count {
                c.via[r.shard] = hint
                scheduleStep(c, after: .milliseconds(2))
            } else {
                c.via[r.shard] = anyReplica(of: r.shard)
                scheduleStep(c, after: .milliseconds(50))
            }
        }
    }

    /// The reply to one attempt of operation `op` (any attempt of the current operation
    /// answers it: every attempt carries the same request id, so they all get one outcome).
    func settleClient(_ c: LockClient, op: Int, token: UInt64, command: LockCommand, outcome: ShardReply.Outcome) {
        switch outcome {
        case let .applied(_, bytes):
            let reply = decode(bytes, of: command)
            guard op == c.op, c.request != nil else {
                // A late reply of an earlier operation: only a grant it reveals matters (to the checker).
                if case let .granted(name, mode, t) = reply, case let .acquire(_, session, _, _, _) = command {
                    history.held(LockHistory.Grant(name: name, session: session, mode: mode, token: t), at: t.value, source: "late reply")
                }
                return
            }
            answer(c, reply)
        case .unknown, .readable:
            guard op == c.op, c.request?.token == token else { return }
            c.request?.token = nil
            scheduleStep(c, after: .milliseconds(20))
        }
    }

    /// Counts a `.waiting` the shard's request ledger answered for an acquire the replica's
    /// table no longer queues (the ledger's stale answer that `ShardState.isFinal` now
    /// prevents).
    func staleWaitingCheck(_ c: LockClient, node: Int) {
        guard let r = c.request, let session = c.session, case let .acquire(name, _, _, _, requestID) = r.command,
              let table = sim.nodes[node].host?.machine(of: r.shard)?.locks,
              !table.waiters(of: name).contains(where: { $0.session == session && $0.requestID == requestID }) else { return }
        counters.staleWaitingAnswers += 1
    }

    /// A definitive answer to the client's current request.
    func answer(_ c: LockClient, _ reply: LockReply) {
        switch c.phase {
        case .opening:
            guard case let .sessionOpened(id) = reply else {
                history.violation("client \(c.index): openSession answered \(reply)")
                return scheduleStep(c, after: .milliseconds(100))
            }
            c.session = id
            sessionOwner[id] = c.index
            c.leaseFrom = c.request?.firstSent ?? now
            counters.sessionsOpened += 1
            c.keepAliveEpoch += 1
            scheduleKeepAlive(c, after: settings.keepAliveEvery)
            finish(c)
        case .acquiring, .waiting:
            switch reply {
            case let .granted(name, mode, token):
                granted(c, name: name, mode: mode, token: token)
            case .waiting:
                if c.phase == .acquiring {
                    c.phase = .waiting
                    c.waitStarted = c.request?.firstSent ?? now
                    counters.waitsQueued += 1
                }
                scheduleStep(c, after: settings.pollEvery)
            case .busy:
                counters.busy += 1
                finish(c)
            case let .waitFailed(why):
                counters.waitsFailed[why, default: 0] += 1
                finish(c)
            case .sessionExpired:
                sessionLost(c, why: "acquire answered sessionExpired")
            default:
                history.violation("client \(c.index): acquire answered \(reply)")
                finish(c)
            }
        case .releasing:
            switch reply {
            case .released, .notHeld: finish(c)
            case .sessionExpired: sessionLost(c, why: "release answered sessionExpired")
            default:
                history.violation("client \(c.index): release answered \(reply)")
                finish(c)
            }
        case .idle, .holding, .stopped:
            return
        }
    }

    /// A notification from the leader that applied the entry that settled a wait. It reaches
    /// the client only over its connection to the node it sent the acquire to; after a
    /// failover the client learns the outcome by asking again (a poll).
    func notify(_ c: LockClient, _ n: LockNotification, from node: Int, shard: ShardID) {
        guard c.phase == .acquiring || c.phase == .waiting, c.session == n.session, c.request?.requestID == n.requestID,
              c.via[shard] == node else { return }
        switch n {
        case let .granted(_, name, mode, _, token): answer(c, .granted(name, mode, token))
        case let .waitFailed(_, _, _, reason): answer(c, .waitFailed(reason))
        }
    }

    func granted(_ c: LockClient, name: LockName, mode: LockMode, token: FencingToken) {
        guard let session = c.session else { return }
        if name != c.name { history.violation("client \(c.index): asked for \(c.name?.text ?? "-") and was granted \(name)") }
        history.clientAccepted(LockHistory.Grant(name: name, session: session, mode: mode, token: token), client: c.index)
        counters.grantsAccepted += 1
        c.request = nil
        c.mode = mode
        c.heldToken = token
        c.heldSince = now
        c.phase = .holding
        if let at = c.crashWhenHolding, at <= now { return crash(c) }
        scheduleStep(c, after: .milliseconds(Int64(settings.holdMillis.lowerBound + rng.below(settings.holdMillis.count))))
    }

    /// The operation is over: pause, then the next one.
    func finish(_ c: LockClient) {
        c.request = nil
        c.name = nil
        c.phase = .idle
        scheduleStep(c, after: .milliseconds(Int64(settings.thinkMillis.lowerBound + rng.below(settings.thinkMillis.count))))
    }

    /// The session is gone (or must be presumed gone): every hold of it with it. A new one
    /// is opened.
    func sessionLost(_ c: LockClient, why: String) {
        c.endBelief(at: min(now, c.leaseFrom + ttl))
        counters.sessionsLost += 1
        log.append("\(now) client \(c.index) lost session \(c.session.map { "\($0)" } ?? "-"): \(why)")
        c.session = nil
        c.keepAliveEpoch += 1
        finish(c)
    }

    /// The client process dies: nothing more is sent, not even keep-alives.
    func crash(_ c: LockClient) {
        c.crashedSession = c.session
        c.crashedName = c.name
        c.crashedToken = c.heldToken
        c.crashedAt = now
        c.endBelief(at: now)
        c.phase = .stopped
        c.stepEpoch += 1
        c.keepAliveEpoch += 1
        log.append("\(now) client \(c.index) crashed holding \(c.name?.text ?? "-") in session \(c.session.map { "\($0)" } ?? "-")")
    }

    /// A keep-alive to the home leader; its acknowledgement renews the local lease.
    func keepAlive(_ c: LockClient) {
        guard c.phase != .stopped, let session = c.session else { return }
        if now >= c.leaseFrom + ttl { return sessionLost(c, why: "local lease ran out") }
        let i = c.via[c.home] ?? anyReplica(of: c.home)
        let host = i < sim.nodes.count ? sim.nodes[i].host : nil
        if host?.isLeader(of: c.home) == true, let driver = drivers.indices.contains(i) ? drivers[i] : nil,
           driver.generation == sim.nodes[i].generation, driver.leading[c.home] != nil {
            if driver.leading[c.home]?.leases.keepAlive(session, now: now) == true {
                c.leaseFrom = now
                counters.keepAlives += 1
                scheduleKeepAlive(c, after: settings.keepAliveEvery)
            } else {
                counters.keepAlivesRefused += 1
                scheduleKeepAlive(c, after: .milliseconds(200))
            }
            c.via[c.home] = i
        } else if let hint = host?.leader(of: c.home), Int(hint.value) - 1 < sim.nodes.count, Int(hint.value) - 1 != i {
            c.via[c.home] = Int(hint.value) - 1
            scheduleKeepAlive(c, after: .milliseconds(2))
        } else {
            c.via[c.home] = anyReplica(of: c.home)
            scheduleKeepAlive(c, after: .milliseconds(50))
        }
    }

    func millis(_ t: Instant) -> UInt64 { UInt64(max(0, t.nanoseconds / 1_000_000)) }
}
