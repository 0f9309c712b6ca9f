import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards

// Serving on the shard's leader: every write is a proposal, answered once applied (after the
// fsync that covers it); every read — key-value reads, lock status, and keep-alives — is a
// ReadIndex round (Raft §6.4), answered once this leader confirmed it still leads and applied
// everything committed when the request arrived.
//
// Why keep-alives read (the lease rule): a keep-alive tells the client "your session and its
// locks are yours for another TTL". Answered from the leader's clocks alone it can be wrong
// twice over:
//   1. a new leader holds a committed `expireSession` it has not applied yet: its table still
//      shows the session open, and its clocks would renew a session that has ended — whose
//      locks another client may already hold;
//   2. a deposed leader, cut off from the others, still believes it leads: it renews a
//      session the new leader will expire on its own schedule.
// The read fixes both: (1) the read index is the commit index, so the table has applied the
// expiry before the answer; (2) a deposed leader cannot get a quorum to confirm the read.
// The new leader in turn waits TTL + longest election + drift allowance after taking over
// before it expires anything (`LockDuties`, `Node+LockDuties.swift`), so every renewal the old
// leader confirmed runs out first.
extension Node {

    /// Serves `r` on this node, which leads `shard`.
    func serve(_ r: Routed, shard: ShardID) {
        switch r.request {
        case let .kvPut(key, value, id):
            propose(shard, requestID: id, .put(key: key, value: value), for: .serve(r, shard: shard))
        case let .kvDelete(key, id):
            propose(shard, requestID: id, .delete(key: key), for: .serve(r, shard: shard))
        case .kvGet, .lockStatus:
            read(shard, for: .serve(r, shard: shard))
        case let .keepAlive(session):
            if settings.plantedBugs.keepAliveWithoutReadIndex {
                reply(r.replyTo, answerKeepAlive(session, home: shard))
            } else {
                read(shard, for: .serve(r, shard: shard))
            }
        case let .openSession(ttl, id):
            propose(shard, requestID: Array(id.text.utf8),
                    .lock(.openSession(ttlMillis: ttl, openedAtMillis: time.wallMillis, requestID: id)), for: .serve(r, shard: shard))
        case let .closeSession(session, id):
            // Not the bare client id: the open that made the session is in the same shard's
            // ledger under its bare id, and a close reusing that id would be answered with
            // the open's reply instead of closing anything.
            propose(shard, requestID: LockLedgerID.make("close", session: session, requestID: id),
                    .lock(.closeSession(session, requestID: id)), for: .serve(r, shard: shard))
        case let .acquire(_, session, _, _, _):
            let fresh = duties.confirmed[session].map { time.now - $0 <= settings.sessionConfirmationLife } ?? false
            if Int(session.home) != shard.index && !fresh {
                confirmSession(session, before: r, on: shard)
            } else {
                proposeAcquire(r, shard: shard)
            }
        case let .release(name, session, id):
            propose(shard, requestID: LockLedgerID.make("release", session: session, requestID: id), .lock(.release(name: name, session: session, requestID: id)),
                    for: .serve(r, shard: shard))
        case .lockList, .shardList, .queuePublish, .queueFetch, .queueSettle, .queueStats, .queueRedrive, .queueDeadLetters:
            serveAnywhere(r)
        case .queueCreate, .queueDelete, .queueList, .queueInfo, .queuePartition:
            serveQueue(r, shard: shard)
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete, .cacheStats:
            routeCache(r)
        }
    }

    func proposeAcquire(_ r: Routed, shard: ShardID) {
        guard case let .acquire(name, session, mode, wait, id) = r.request else { return }
        propose(shard, requestID: LockLedgerID.make("acquire", session: session, requestID: id),
                .lock(.acquire(name: name, session: session, mode: mode, waitMillis: wait, requestID: id)), for: .serve(r, shard: shard))
    }

    /// Asks the session's home shard whether it is alive before an acquire on another shard
    /// is proposed for it (so a lock is not granted to a session that already ended).
    func confirmSession(_ session: SessionID, before r: Routed, on shard: ShardID) {
        let home = ShardID(Int(session.home))
        if host.isLeader(of: home) {
            read(home, for: .confirm(r, shard: shard, session: session))
            return
        }
        guard let target = target(for: home),
              call(target, .sessionState(session), budget: settings.forwardAttempt, purpose: .confirmSession(r, shard: shard)) else {
            retryConfirmation(r)
            return
        }
    }

    /// Goes on with an acquire once the session's home answered.
    func continueAcquire(_ r: Routed, shard: ShardID, standing: SessionStanding) {
        guard case let .acquire(_, session, _, _, _) = r.request else { return }
        switch standing {
        case .alive:
            duties.confirmed[session] = time.now
            if host.isLeader(of: shard) { proposeAcquire(r, shard: shard) } else { reroute(r, shard: shard) }
        case .expiring, .dead:
            duties.confirmed[session] = nil
            reply(r.replyTo, Node.failure(.sessionExpired))
        case .unknown:
            retryConfirmation(r)
        }
    }

    /// The session's home could not answer yet (its leader moved, or has not applied
    /// everything): the acquire is routed again shortly, within its deadline, and confirms
    /// again; past the deadline the client is told to retry.
    func retryConfirmation(_ r: Routed) {
        guard time.now + settings.routeRetry < r.deadline else {
            reply(r.replyTo, .fail(.unavailable, "the session's home shard cannot confirm it yet; retry"))
            return
        }
        retries.append((time.now + settings.routeRetry, r))
    }

    // MARK: proposing and reading

    func propose(_ shard: ShardID, requestID: [UInt8], _ command: ShardCommand, for wait: HostWait) {
        let t = token()
        do throws(ShardRefusal) {
            switch try host.propose(shard: shard, requestID: requestID, command: command.encoded(), token: t) {
            case let .alreadyApplied(index, reply): settle(wait, .applied(index: index, reply: reply))
            case .proposed: awaiting[t] = wait
            }
        } catch {
            refused(wait, error, shard: shard)
        }
    }

    func read(_ shard: ShardID, for wait: HostWait) {
        let t = token()
        do throws(ShardRefusal) {
            try host.read(shard: shard, token: t)
            awaiting[t] = wait
        } catch {
            refused(wait, error, shard: shard)
        }
    }

    /// A proposal or read the host refused at once.
    func refused(_ wait: HostWait, _ error: ShardRefusal, shard: ShardID) {
        switch wait {
        case let .serve(r, _), let .confirm(r, _, _):
            switch error {
            case .notLeader, .notHosted, .leaderMoving: reroute(r, shard: shard)
            case .overloaded: reply(r.replyTo, .fail(.overloaded, error.description))
            case .rejected: reply(r.replyTo, .fail(.rejected, error.description))
            }
        case let .peerPropose(origin, callID), let .sessionState(origin, callID, _):
            inbound = max(0, inbound - 1)
            switch error {
            case .notLeader, .notHosted, .leaderMoving: respond(to: origin, callID: callID, .notLeader(hint: host.leader(of: shard)))
            case .overloaded: respond(to: origin, callID: callID, .refused(.overloaded))
            case .rejected: respond(to: origin, callID: callID, .refused(.badRequest))
            }
        case let .dropHere(gather, _):
            gatherAnswered(gather)
        case .chore:
            break // the duties propose again when their clocks say so
        case let .queueBatch(batch):
            queueBatchEnded(batch, answer: nil)
        case let .queueTick(id):
            queueDuties.ticking.remove(id)
        case let .deadLetterDrop(id, _):
            deadLetterMoveEnded(id, moved: false)
        case let .cacheLoad(shard, key, epoch):
            cacheLoadSettled(shard: shard, key: key, epoch: epoch, readable: false)
        case let .cacheWrite(shard, key, txn):
            cacheWriteSettled(shard: shard, key: key, txn: txn, reply: .some(nil))
        case let .cachePurge(shard):
            cacheDuties.purging.remove(shard)
        }
    }

    /// What the host settled for a token.
    func settle(_ wait: HostWait, _ outcome: ShardReply.Outcome) {
        switch (wait, outcome) {
        case let (.serve(r, shard), .unknown), let (.confirm(r, shard, _), .unknown):
            reroute(r, shard: shard)
        case let (.serve(r, shard), .applied(index, bytes)):
            answerApplied(r, shard: shard, index: index, bytes)
        case let (.serve(r, shard), .readable):
            answerRead(r, shard: shard)
        case let (.confirm(r, shard, session), .readable):
            continueAcquire(r, shard: shard, standing: standing(of: session))
        case let (.confirm(r, shard, _), .applied):
            reroute(r, shard: shard)
        case let (.peerPropose(origin, callID), .applied(_, bytes)):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .applied(bytes))
        case let (.sessionState(origin, callID, session), .readable):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .sessionState(standing(of: session)))
        case let (.peerPropose(origin, callID), _), let (.sessionState(origin, callID, _), _):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .notLeader(hint: nil))
        case let (.dropHere(gather, shard), .applied):
            gathers[gather]?.dropped.append(UInt16(truncatingIfNeeded: shard.value))
            gatherAnswered(gather)
        case let (.dropHere(gather, _), _):
            gatherAnswered(gather)
        case let (.chore(chore), outcome):
            choreSettled(chore, outcome)
        case let (.queueBatch(batch), .applied(_, bytes)):
            queueBatchEnded(batch, answer: bytes)
        case let (.queueBatch(batch), _):
            queueBatchEnded(batch, answer: nil)
        case let (.queueTick(id), _):
            queueDuties.ticking.remove(id)
        case let (.deadLetterDrop(id, complete), .applied):
            deadLetterMoveEnded(id, moved: complete)
        case let (.deadLetterDrop(id, _), _):
            deadLetterMoveEnded(id, moved: false)
        case let (.cacheLoad(shard, key, epoch), outcome):
            cacheLoadSettled(shard: shard, key: key, epoch: epoch, readable: outcome == .readable)
        case let (.cacheWrite(shard, key, txn), .applied(_, bytes)):
            cacheWriteSettled(shard: shard, key: key, txn: txn, reply: .some(bytes))
        case let (.cacheWrite(shard, key, txn), _):
            cacheWriteSettled(shard: shard, key: key, txn: txn, reply: .none)
        case let (.cachePurge(shard), _):
            cacheDuties.purging.remove(shard)
        }
    }

    // MARK: answers

    func answerApplied(_ r: Routed, shard: ShardID, index: LogIndex, _ bytes: [UInt8]) {
        if answerQueueApplied(r, bytes) { return }
        switch r.request {
        case let .kvPut(key, _, _), let .kvDelete(key, _):
            switch bytes.first.flatMap(ShardState.Reply.init(rawValue:)) {
            case .done?: reply(r.replyTo, .kvWritten(key: key, shard: shard, index: index.value))
            case .absent?: reply(r.replyTo, .fail(.notFound, "no such key"))
            case .unreadable?, nil: reply(r.replyTo, .fail(.internal, "the shard could not read the command"))
            }
            return
        default:
            break
        }
        guard let lockReply = try? LockCodec.decodeReply(bytes) else {
            reply(r.replyTo, .fail(.internal, "unreadable reply"))
            return
        }
        switch (r.request, lockReply) {
        case let (.openSession(asked, _), .sessionOpened(session)):
            // A retried open (same request id) is answered with the session the first one
            // opened, whose TTL is the first request's: report the TTL the table holds, not
            // the one this request asked for. When the table no longer holds that session
            // (closed or expired since), the retry learns that instead of a lease it lacks.
            let table = host.machine(of: shard)?.locks
            if let table, table.session(session) == nil {
                reply(r.replyTo, Node.failure(.sessionExpired))
                return
            }
            let ttl = table?.session(session)?.ttlMillis ?? asked
            if var clocks = duties.leaders[shard], !clocks.tracked.contains(session) {
                clocks.leases.opened(session, ttlMillis: ttl, now: time.now)
                clocks.tracked.insert(session)
                duties.leaders[shard] = clocks
            }
            reply(r.replyTo, .sessionOpened(session, ttlMillis: ttl))
        case let (.closeSession(session, _), .sessionEnded):
            duties.leaders[shard]?.leases.forget(session)
            duties.leaders[shard]?.tracked.remove(session)
            dropEverywhere(session, except: shard)
            reply(r.replyTo, .sessionClosed(session))
        case let (.acquire(name, session, _, wait, id), .waiting):
            let key = LockDuties.WaitKey(shard: shard, session: session, name: name, requestID: id)
            duties.parked[key, default: []].append(r)
            if duties.leaders[shard]?.waits.deadline(of: name, session: session) == nil {
                duties.leaders[shard]?.waits.register(name, session: session, requestID: id, waitMillis: wait, now: time.now)
            }
        default:
            reply(r.replyTo, Node.clientReply(lockReply))
        }
    }

    func answerRead(_ r: Routed, shard: ShardID) {
        switch r.request {
        case let .kvGet(key):
            guard let machine = host.machine(of: shard) else { reroute(r, shard: shard); return }
            if let value = machine.values[key] {
                reply(r.replyTo, .kvValue(key: key, shard: shard, value: value))
            } else {
                reply(r.replyTo, .fail(.notFound, "no such key"))
            }
        case let .lockStatus(name):
            guard let table = host.machine(of: shard)?.locks else { reroute(r, shard: shard); return }
            reply(r.replyTo, .lock(LockView(name, in: table)))
        case let .keepAlive(session):
            counters.keepAlivesConfirmed &+= 1
            reply(r.replyTo, answerKeepAlive(session, home: shard))
        case .queueList, .queueInfo:
            answerQueueRead(r, shard: shard)
        default:
            reply(r.replyTo, .fail(.internal, "a read for a request that is not one"))
        }
    }

    /// The keep-alive's answer from the home leader's table and clocks (after the read).
    func answerKeepAlive(_ session: SessionID, home: ShardID) -> ClientReply {
        guard let table = host.machine(of: home)?.locks else {
            return .fail(.unavailable, "the session's home shard is moving; retry")
        }
        guard !table.isDead(session), let ttl = table.session(session)?.ttlMillis else { return Node.failure(.sessionExpired) }
        guard var clocks = duties.leaders[home] else {
            // Leading, but the clocks are not set up yet (the change is followed after the
            // drive): the session may well be alive, so no verdict — the client retries.
            return .fail(.unavailable, "leadership of the session's home shard is changing; retry")
        }
        if !clocks.tracked.contains(session) { adopt(session, ttlMillis: ttl, into: &clocks) }
        let alive = clocks.leases.keepAlive(session, now: time.now)
        duties.leaders[home] = clocks
        return alive ? .sessionAlive(session, ttlMillis: ttl) : Node.failure(.sessionExpired)
    }

    /// What the home shard's leader (this node) knows of `session`.
    func standing(of session: SessionID) -> SessionStanding {
        let home = ShardID(Int(session.home))
        guard let table = host.machine(of: home)?.locks, let clocks = duties.leaders[home] else { return .unknown }
        if table.isDead(session) { return .dead }
        guard table.session(session)?.ttlMillis != nil else {
            // The entry at the session's index is applied here and left no such session: it
            // was never opened (a made-up id), or it ended so long ago that its tombstone is
            // gone. Either way it is not alive, and waiting cannot change that. Before that
            // entry is applied, a session just opened may still be on its way: no verdict.
            let applied = max(table.appliedIndex, host.status(of: home)?.applied.value ?? 0)
            return session.index <= applied ? .dead : .unknown
        }
        guard let deadline = clocks.leases.deadline(of: session) else { return .alive }
        return time.now < deadline ? .alive : .expiring
    }

    // MARK: requests any node answers

    func serveAnywhere(_ r: Routed) {
        switch r.request {
        case let .lockList(prefix, localOnly):
            let mine = localLocks(prefix: prefix)
            if localOnly || r.isForwarded { reply(r.replyTo, .locks(mine)); return }
            var g = Gather(kind: .locks(prefix: prefix, replyTo: r.replyTo), pending: 0, deadline: time.now + settings.gatherTimeout)
            g.locks = mine
            startGather(g, .lockList(prefix: prefix, localOnly: true))
        case let .shardList(localOnly):
            let mine = localShards()
            if localOnly || r.isForwarded { reply(r.replyTo, .shards(mine)); return }
            var g = Gather(kind: .shards(replyTo: r.replyTo), pending: 0, deadline: time.now + settings.gatherTimeout)
            g.shards = mine
            startGather(g, .shardList(localOnly: true))
        case .queuePublish, .queueFetch, .queueSettle, .queueStats, .queueRedrive, .queueDeadLetters:
            startQueueRequest(r)
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete, .cacheStats:
            routeCache(r)
        default:
            reply(r.replyTo, .fail(.internal, "not a listing"))
        }
    }

    func localLocks(prefix: String) -> [LockView] {
        var views: [LockView] = []
        for shard in duties.leaders.keys.sorted() {
            guard let table = host.machine(of: shard)?.locks else { continue }
            for name in table.names(withPrefix: prefix) { views.append(LockView(name, in: table)) }
        }
        return views
    }

    /// This node's replicas, names resolved here.
    public func localShards() -> [ShardReport] {
        func memberName(_ id: NodeID) -> String {
            id == self.id ? name : peers[id]?.name ?? String(id.value, radix: 16)
        }
        return host.statuses.map { s in
            ShardReport(shard: s.shard.index, voters: s.voters.map(memberName), learners: s.learners.map(memberName),
                        leader: s.leader.map(memberName), term: s.term.value, commitIndex: s.commit.value,
                        appliedIndex: s.applied.value, reportedBy: name)
        }
    }

    // MARK: lock replies

    static func failure(_ reason: WaitFailure) -> ClientReply {
        switch reason {
        case .timeout: return .fail(.timeout, "the lock was not granted before the wait ran out")
        case .deadlock: return .fail(.deadlock, "this wait closed a cycle of waits; it was chosen to break it")
        case .sessionExpired: return .fail(.sessionExpired, "the session has expired or was closed")
        case .withdrawn: return .fail(.withdrawn, "the session released the lock while this request waited")
        }
    }

    static func clientReply(_ reply: LockReply) -> ClientReply {
        switch reply {
        case let .granted(name, mode, token): return .granted(name: name, mode: mode, token: token)
        case .busy: return .fail(.timeout, "the lock is held (wait_ms 0: not queued)")
        case .sessionExpired: return failure(.sessionExpired)
        case let .waitFailed(reason): return failure(reason)
        case .released: return .released
        case .notHeld: return .fail(.notHeld, "the session neither holds nor waits for this lock")
        case let .invalid(why): return .fail(.invalidRequest, why)
        case .sessionEnded, .waiting, .waitCancelled, .notWaiting, .sessionOpened:
            return .fail(.internal, "unexpected reply \(reply)")
        }
    }
}
