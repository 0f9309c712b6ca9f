import ChorusBase
import ChorusLocks
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusShards

// Routing: any node accepts a request for any shard. The shard's leader serves it; any other
// node forwards it over the peer RPC to the leader it knows (or to a live replica the
// placement names, which knows the leader) and routes it again after a refusal or a leader
// change until the routing budget runs out. A forwarded request is never forwarded again: a
// node that does not lead answers `.notLeader` with its hint, and the origin tries again.
extension Node {

    /// The shard that owns a request, nil for requests any node answers itself.
    func shard(of request: ClientRequest) -> ShardID? {
        switch request {
        case let .kvGet(key), let .kvPut(key, _, _), let .kvDelete(key, _):
            return shard(forKey: String(decoding: key, as: UTF8.self))
        case let .openSession(_, id): return shard(forKey: "session/" + id.text)
        case let .keepAlive(s), let .closeSession(s, _): return ShardID(Int(s.home))
        case let .acquire(name, _, _, _, _), let .release(name, _, _), let .lockStatus(name): return shard(forKey: name.text)
        case .lockList, .shardList: return nil
        case .queueCreate, .queueDelete, .queueList, .queueInfo: return shard(forKey: QueueDuties.catalogueKey)
        case let .queuePartition(info, p, _): return shard(forKey: PartitionID(queue: info.name, index: p).placementKey)
        case .queuePublish, .queueFetch, .queueSettle, .queueStats, .queueRedrive, .queueDeadLetters: return nil
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete, .cacheStats: return nil
        }
    }

    /// Checks what the front door cannot: identifiers that must fit this cluster.
    func invalidity(of request: ClientRequest) -> String? {
        switch request {
        case let .keepAlive(s), let .closeSession(s, _), let .acquire(_, s, _, _, _), let .release(_, s, _):
            return Int(s.home) < shardCount ? nil : "session \(s) names home shard \(s.home), beyond the \(shardCount) shards"
        case let .kvPut(key, _, id), let .kvDelete(key, id):
            if key.isEmpty || key.count > ShardCommand.maxKeyBytes { return "key must be 1...\(ShardCommand.maxKeyBytes) bytes" }
            return id.count > CommandEnvelope.maxRequestIDBytes ? "request id longer than \(CommandEnvelope.maxRequestIDBytes) bytes" : nil
        case let .kvGet(key):
            return key.isEmpty || key.count > ShardCommand.maxKeyBytes ? "key must be 1...\(ShardCommand.maxKeyBytes) bytes" : nil
        case let .openSession(ttl, _):
            return ttl == 0 ? "ttl_ms must be positive" : nil
        case .lockStatus, .lockList, .shardList:
            return nil
        case .queueCreate, .queueDelete, .queueList, .queueInfo, .queuePartition, .queuePublish, .queueFetch, .queueSettle,
             .queueStats, .queueRedrive, .queueDeadLetters:
            return queueInvalidity(of: request)
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete, .cacheStats:
            return cacheInvalidity(of: request)
        }
    }

    /// Serves `r` here if this node leads its shard, else forwards it (or, if it was
    /// forwarded to us, tells the origin where to go).
    func route(_ r: Routed) {
        var r = r
        if let why = invalidity(of: r.request) {
            reply(r.replyTo, .fail(.invalidRequest, why))
            return
        }
        // A write without a request id gets one here, before any hop, so every retry of it
        // carries the same id and is applied at most once.
        switch r.request {
        case let .kvPut(key, value, id) where id.isEmpty: r.request = .kvPut(key: key, value: value, requestID: Array(newRequestID().utf8))
        case let .kvDelete(key, id) where id.isEmpty: r.request = .kvDelete(key: key, requestID: Array(newRequestID().utf8))
        default: break
        }
        guard let shard = shard(of: r.request) else {
            serveAnywhere(r)
            return
        }
        if host.isLeader(of: shard) {
            serve(r, shard: shard)
            return
        }
        forward(r, shard: shard)
    }

    /// Sends `r` to the node that knows `shard`'s leader (or is it) — or, if `r` was itself
    /// forwarded here, tells its origin where to go instead (one hop only).
    func forward(_ r: Routed, shard: ShardID) {
        if case let .peer(origin, callID) = r.replyTo {
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .notLeader(hint: host.leader(of: shard)))
            return
        }
        guard time.now < r.deadline else {
            reply(r.replyTo, .fail(.noLeader, "shard \(shard) has no reachable leader; retry"))
            return
        }
        guard let target = target(for: shard) else {
            deferRoute(r)
            return
        }
        let budget = min(r.deadline - time.now, settings.forwardAttempt) + .milliseconds(Int64(r.request.patienceMillis))
        guard call(target, .client(r.request), budget: budget, purpose: .forward(r)) else {
            reply(r.replyTo, .fail(.overloaded, "too many requests in flight to \(peers[target]?.name ?? "the leader"); retry"))
            return
        }
        counters.forwarded &+= 1
    }

    /// The node to ask about `shard`: its leader if known and live, else a live replica of
    /// the placement (it knows the leader, or is it), chosen at random.
    func target(for shard: ShardID) -> NodeID? {
        if let leader = host.leader(of: shard), leader != id, peers[leader]?.live == true { return leader }
        guard let map = placementMap, shard.index < map.shardCount else { return nil }
        let candidates = map.placement(shard).replicas.compactMap { name -> NodeID? in
            guard name != self.name, let pid = idsByName[name], let p = peers[pid], p.live, p.sameShardSet else { return nil }
            return pid
        }
        guard !candidates.isEmpty else { return nil }
        return candidates[Int(rng.next() % UInt64(candidates.count))]
    }

    /// Routes `r` again after `settings.routeRetry`, within its deadline.
    func deferRoute(_ r: Routed) {
        guard time.now < r.deadline else {
            reply(r.replyTo, .fail(.noLeader, "no reachable leader; retry"))
            return
        }
        retries.append((time.now + settings.routeRetry, r))
    }

    /// Routes again every deferred request that is due, in the order they were deferred.
    func runRetries() {
        guard !retries.isEmpty else { return }
        let due = retries.filter { $0.at <= time.now }
        retries.removeAll { $0.at <= time.now }
        for (_, r) in due { route(r) }
    }

    /// A request whose leadership moved before its outcome was known: a client's is routed
    /// again (same request ids), a forwarded one is handed back to its origin.
    func reroute(_ r: Routed, shard: ShardID) {
        switch r.replyTo {
        case .client, .local, .deadLetterMove, .redrive, .nobody: deferRoute(r)
        case let .peer(origin, callID):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .notLeader(hint: host.leader(of: shard)))
        }
    }

    /// The reply to a forwarded request came back (or its call ended without one).
    func forwardEnded(_ r: Routed, _ answer: PeerReply?) {
        switch answer {
        case let .client(reply)?: self.reply(r.replyTo, reply)
        case .refused(.overloaded)?: reply(r.replyTo, .fail(.overloaded, "the shard's leader is overloaded; retry"))
        case .refused(.badRequest)?: reply(r.replyTo, .fail(.invalidRequest, "the leader could not read the request"))
        case nil where isCacheWrite(r.request):
            reply(r.replyTo, .fail(.unavailable, "the replica serving the write did not answer: its outcome is unknown; read the key to find out"))
        case .notLeader?, .refused?, nil, .applied?, .sessionState?, .dropped?, .reportTaken?, .done?:
            deferRoute(r)
        }
    }
}
