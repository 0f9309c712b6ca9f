import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards

// The peer RPC: calls out (bounded per peer and in total, each ended once by its reply or its
// deadline) and requests in (bounded; refused explicitly past the bound, or when the origin
// belongs to another shard set).
extension Node {

    /// Sends `request` to `peer` as a new call; false when a bound is reached or the peer is
    /// unknown (nothing was sent).
    func call(_ peer: NodeID, _ request: PeerRequest, budget: Interval, purpose: CallPurpose) -> Bool {
        guard let address = address(of: peer) else { return false }
        let budget = max(.milliseconds(1), min(budget, .seconds(86_400 * 2)))
        guard let callID = calls.start(to: peer, deadline: time.now + budget, purpose: purpose) else {
            counters.peerRefusals &+= 1
            return false
        }
        let millis = UInt32(clamping: budget.nanoseconds / 1_000_000)
        let message = PeerMessage(callID: callID, origin: id, budgetMillis: millis, body: .request(request))
        out.append(.send(to: address, frame: PeerMessageCodec.encode(message)))
        return true
    }

    /// Answers call `callID` of `origin`.
    func respond(to origin: NodeID, callID: UInt64, _ answer: PeerReply) {
        guard let p = peers[origin] else { return } // unknown origin: it times out and retries
        let message = PeerMessage(callID: callID, origin: id, budgetMillis: 0, body: .reply(answer))
        out.append(.send(to: p.address, frame: PeerMessageCodec.encode(message)))
    }

    func receive(_ message: PeerMessage) {
        switch message.body {
        case let .reply(answer):
            guard let call = calls.complete(message.callID, from: message.origin) else { return }
            callEnded(call.purpose, answer)
        case let .request(request):
            serveInbound(request, origin: message.origin, callID: message.callID, budgetMillis: message.budgetMillis)
        case let .cache(life, cacheMessage):
            receiveCache(cacheMessage, from: message.origin, life: life)
        }
    }

    func serveInbound(_ request: PeerRequest, origin: NodeID, callID: UInt64, budgetMillis: UInt32) {
        guard let peer = peers[origin] else { return } // not in the view yet: it times out and retries
        guard peer.sameShardSet else {
            respond(to: origin, callID: callID, .refused(.foreignShardSet))
            return
        }
        guard !stopped, inbound < settings.maxInbound else {
            counters.peerRefusals &+= 1
            respond(to: origin, callID: callID, .refused(.overloaded))
            return
        }
        guard budgetMillis > 0 else {
            respond(to: origin, callID: callID, .refused(.expired))
            return
        }
        counters.peerRequestsServed &+= 1
        inbound += 1
        let deadline = time.now + .milliseconds(Int64(budgetMillis))
        switch request {
        case let .client(clientRequest):
            // Its patience (an acquire's wait) is inside the budget; routing gets the rest.
            let patience = Interval.milliseconds(Int64(clientRequest.patienceMillis))
            route(Routed(request: clientRequest, replyTo: .peer(origin, callID: callID), deadline: max(time.now, deadline - patience)))
        case let .propose(shard, requestID, command):
            guard shard.index < shardCount, let decoded = try? ShardCommand(decoding: command) else {
                inbound -= 1
                respond(to: origin, callID: callID, .refused(.badRequest))
                return
            }
            propose(shard, requestID: requestID, decoded, for: .peerPropose(origin: origin, callID: callID))
        case let .sessionState(session):
            let home = ShardID(Int(session.home))
            guard home.index < shardCount else {
                inbound -= 1
                respond(to: origin, callID: callID, .sessionState(.dead))
                return
            }
            read(home, for: .sessionState(origin: origin, callID: callID, session: session))
        case let .dropSession(session):
            let led = host.order.filter { host.isLeader(of: $0) && $0.index != Int(session.home) }
            let id = nextGather
            nextGather &+= 1
            gathers[id] = Gather(kind: .drop(origin: origin, callID: callID), pending: led.count, deadline: deadline)
            if led.isEmpty {
                gatherAnswered(id, count: false)
                return
            }
            for shard in led {
                propose(shard, requestID: Array("drop-\(session)".utf8), .lock(.dropSession(session)),
                        for: .dropHere(gather: id, shard: shard))
            }
        case let .deadlockReport(shard, epoch, edges):
            inbound -= 1
            guard duties.detector != nil else {
                respond(to: origin, callID: callID, .notLeader(hint: host.leader(of: LockDuties.detectorShard)))
                return
            }
            duties.detector?.report(shard: shard, edges: edges, epoch: epoch, at: time.now)
            respond(to: origin, callID: callID, .reportTaken(epoch: duties.detector?.epoch ?? 0))
        case let .deadlockRefresh(number, epoch):
            inbound -= 1
            let shard = ShardID(Int(number))
            guard shard.index < shardCount, host.isLeader(of: shard) else {
                respond(to: origin, callID: callID, .notLeader(hint: nil))
                return
            }
            duties.echo[shard] = epoch
            reportWaitEdges(shard, force: true)
            respond(to: origin, callID: callID, .done)
        }
    }

    /// The stream to `address` could not be opened or broke: the calls to it will get no
    /// answer, so they end now (their requests are routed again) instead of at their deadline.
    public func peerUnreachable(_ address: Endpoint, at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        // Two peers can share an address (a node back under a new name on its old address,
        // its old self not yet forgotten): the stream concerns both, and which one hears of
        // it must not follow a dictionary's order.
        for pid in peers.keys.sorted() where peers[pid]?.address == address {
            host.reportUnreachable(peer: pid)
            for call in calls.removeAll(to: pid) { callEnded(call.purpose, nil) }
        }
    }

    /// Ends every call whose deadline passed, as if it had no answer.
    func expireCalls() {
        for call in calls.expired(at: time.now) {
            counters.callsTimedOut &+= 1
            callEnded(call.purpose, nil)
        }
    }

    /// A call ended with `answer` (nil: no answer before its deadline).
    func callEnded(_ purpose: CallPurpose, _ answer: PeerReply?) {
        switch purpose {
        case let .forward(r):
            forwardEnded(r, answer)
        case let .confirmSession(r, shard):
            if case let .sessionState(standing)? = answer {
                continueAcquire(r, shard: shard, standing: standing)
            } else {
                retryConfirmation(r)
            }
        case let .audit(session, shard):
            if case .sessionState(.dead)? = answer { auditDrop(session, on: shard) }
        case let .drop(session):
            if case let .dropped(shards)? = answer {
                for s in shards { duties.fanouts[session]?.pending.remove(ShardID(Int(s))) }
                if duties.fanouts[session]?.pending.isEmpty == true { duties.fanouts[session] = nil }
            }
        case let .propose(chore, shard, requestID, command, deadline):
            remoteProposalEnded(chore, shard: shard, requestID: requestID, command: command, deadline: deadline, answer)
        case let .report(shard, empty):
            if case let .reportTaken(epoch)? = answer, duties.leaders[shard] != nil {
                duties.echo[shard] = epoch
                if empty { duties.reportedEmpty.insert(shard) } else { duties.reportedEmpty.remove(shard) }
            }
        case .refresh:
            break
        case let .gather(id):
            if case let .client(reply)? = answer {
                switch reply {
                case let .locks(views): gathers[id]?.locks.append(contentsOf: views)
                case let .shards(reports): gathers[id]?.shards.append(contentsOf: reports)
                default: break
                }
            }
            gatherAnswered(id)
        }
    }

    /// The node stops: what a call was for learns it has no answer.
    func fail(_ purpose: CallPurpose, reason: String) {
        switch purpose {
        case let .forward(r), let .confirmSession(r, _): reply(r.replyTo, .fail(.unavailable, reason))
        case .audit, .drop, .propose, .report, .refresh, .gather: break
        }
    }

    // MARK: gathering answers from every node

    /// Asks every live member for `request` and collects the answers in `g`.
    func startGather(_ g: Gather, _ request: ClientRequest) {
        let id = nextGather
        nextGather &+= 1
        var g = g
        for (pid, peer) in peers.sorted(by: { $0.key < $1.key }) where peer.live {
            if call(pid, .client(request), budget: settings.gatherTimeout, purpose: .gather(id)) { g.pending += 1 }
        }
        gathers[id] = g
        if g.pending == 0 { gatherAnswered(id, count: false) }
    }

    func gatherAnswered(_ id: UInt64, count: Bool = true) {
        guard var g = gathers[id] else { return }
        if count { g.pending -= 1 }
        gathers[id] = g
        guard g.pending <= 0 else { return }
        gathers[id] = nil
        finish(g)
    }

    func expireGathers() {
        for id in gathers.keys.sorted() where (gathers[id]?.deadline ?? .distantFuture) <= time.now {
            if let g = gathers.removeValue(forKey: id) { finish(g) }
        }
    }

    func finish(_ g: Gather) {
        switch g.kind {
        case let .locks(_, replyTo):
            // Each shard is led by one node, so a name appears once; keep the last if a
            // leadership change made two nodes list it.
            var byName: [LockName: LockView] = [:]
            for v in g.locks { byName[v.name] = v }
            reply(replyTo, .locks(byName.keys.sorted().compactMap { byName[$0] }))
        case let .shards(replyTo):
            var best: [Int: ShardReport] = [:]
            for v in g.shards where v.shard >= 0 && v.shard < shardCount {
                best[v.shard] = best[v.shard].map { ShardReport.better($0, v) } ?? v
            }
            let rows = (0..<shardCount).map { s in
                best[s] ?? ShardReport(shard: s, voters: placementMap.map { $0.placement(ShardID(s)).replicas } ?? [], learners: [],
                                       leader: nil, term: 0, commitIndex: 0, appliedIndex: 0, reportedBy: nil)
            }
            reply(replyTo, .shards(rows))
        case let .drop(origin, callID):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .dropped(g.dropped.sorted()))
        }
    }
}
