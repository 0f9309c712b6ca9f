import ChorusBase
import ChorusCache
import ChorusRaft
import ChorusRing
import ChorusShards

// The cache on every node: client operations go to this node's `CacheController`, which asks
// the key's home — the leader of the key's shard — over one-way cache frames on the peer
// streams. A node that does not replicate the key's shard does not know its leader: it
// forwards the operation to a replica (which serves it with its own controller), the way any
// request reaches its shard.
//
// Why a write that was forwarded is never forwarded again after a lost answer: the replica's
// controller may still complete it later; routing it again would let the first attempt apply
// after a newer write from another client. The client hears "outcome unknown" instead.
extension Node {

    var cacheNode: CacheNodeID { CacheNodeID(id.value) }

    /// The ring text a cache key is placed by (apart from key-value keys of the same bytes).
    func cacheShard(of key: [UInt8]) -> ShardID { shard(forKey: "cache/" + String(decoding: key, as: UTF8.self)) }

    /// The key's home as this node's controller names it: its shard's leader's directory for
    /// that shard (nil when the leader is unknown).
    func cacheHome(of key: CacheKey) -> CacheNodeID? {
        let shard = cacheShard(of: key.bytes)
        return host.leader(of: shard).map { cacheDuties.alias($0, shard) }
    }

    func cacheInvalidity(of request: ClientRequest) -> String? {
        switch request {
        case let .cacheGet(key), let .cachePut(key, _), let .cacheDelete(key), let .cachePutExpiring(key, _, _),
             let .cacheIncrement(key, _):
            if key.isEmpty || key.count > CacheShardCommand.maxKeyBytes { return "key must be 1...\(CacheShardCommand.maxKeyBytes) bytes" }
            switch request {
            case let .cachePut(_, value), let .cachePutExpiring(_, value, _):
                if value.count > CacheShardCommand.maxValueBytes {
                    return "value must be at most \(CacheShardCommand.maxValueBytes) bytes"
                }
            default: break
            }
            if case let .cachePutExpiring(_, _, ttl) = request, ttl < 1 || ttl > ClientRequest.maxCacheTTLMillis {
                return "ttl must be 1...\(ClientRequest.maxCacheTTLMillis) ms"
            }
            return nil
        default:
            return nil
        }
    }

    /// Serves a cache request: statistics here; an operation on this node's controller when it
    /// replicates the key's shard and knows its leader, else forwarded or deferred.
    func routeCache(_ r: Routed) {
        let key: [UInt8]
        switch r.request {
        case let .cacheGet(k), let .cachePut(k, _), let .cacheDelete(k), let .cachePutExpiring(k, _, _),
             let .cacheIncrement(k, _):
            key = k
        case .cacheStats:
            reply(r.replyTo, .cacheStatistics(cacheStatistics))
            return
        default:
            reply(r.replyTo, .fail(.internal, "not a cache request"))
            return
        }
        let shard = cacheShard(of: key)
        guard host.status(of: shard) != nil else {
            // A replica of the shard knows its leader and serves the operation with its own
            // controller; this node keeps no copy of the key.
            forward(r, shard: shard)
            return
        }
        guard let home = host.leader(of: shard) else {
            deferRoute(r)
            return
        }
        // The controller must hear of every move away from a home it is given, so a move of
        // this shard since the last look is followed before it is given this home. Moves of
        // other shards wait for their own requests or the next tick: looking at every shard
        // on each request cost a read hit most of its time.
        if let term = host.term(of: shard)?.value, cacheDuties.seenHomes[shard] != SeenHome(leader: home, term: term) {
            followCacheHomeMoves()
        }
        let homeAlias = cacheDuties.alias(home, shard)
        let op = cacheDuties.opID()
        let expires = r.deadline + .milliseconds(Int64(r.request.patienceMillis))
        var effects: [CacheEffect] = []
        let cacheKey = CacheKey(key)
        cacheDuties.controllerSteps &+= 1
        func write(_ mutation: CacheMutation?, _ k: CacheWait.Kind) {
            cacheDuties.ops[op] = CacheWait(replyTo: r.replyTo, key: key, kind: k, expires: expires)
            cacheDuties.controller.write(cacheKey, value: mutation?.encoded(), op: op, home: homeAlias, at: time.now, into: &effects)
        }
        switch r.request {
        case let .cachePut(_, value): write(.set(value, ttlMillis: nil), .write)
        case let .cachePutExpiring(_, value, ttl): write(.set(value, ttlMillis: ttl), .write)
        case let .cacheIncrement(_, by): write(.increment(by: by), .increment)
        case .cacheDelete: write(nil, .write)
        default:
            cacheDuties.ops[op] = CacheWait(replyTo: r.replyTo, key: key, kind: .read, expires: expires)
            cacheDuties.controller.read(cacheKey, op: op, home: homeAlias, at: time.now, into: &effects)
        }
        carryCache(effects)
    }

    /// Whether a forwarded request must not be routed again when its answer is lost.
    func isCacheWrite(_ request: ClientRequest) -> Bool {
        switch request {
        case .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete: return true
        default: return false
        }
    }

    // MARK: the controller's effects

    func carryCache(_ effects: [CacheEffect]) {
        for effect in effects {
            switch effect {
            case let .send(message, target): sendCache(message, to: target)
            case let .complete(op, outcome): cacheCompleted(op, outcome)
            }
        }
        deliverLoopback()
    }

    func cacheCompleted(_ op: ClientOpID, _ outcome: CacheOutcome) {
        guard let wait = cacheDuties.ops.removeValue(forKey: op) else { return }
        switch (outcome, wait.kind) {
        case (.value(nil), _):
            reply(wait.replyTo, .cacheValue(key: wait.key, value: nil))
        case let (.value(bytes?), _):
            // The controller ends a copy with its record's time left; an absolute expiry never
            // leaves a home (`sentByHome`), and would be judged by this node's wall clock.
            guard let record = CacheRecord.decode(bytes) else {
                return reply(wait.replyTo, .fail(.internal, "the key's value is not a cache record"))
            }
            if case let .at(t) = record.expiry, t <= time.wallMillis {
                return reply(wait.replyTo, .cacheValue(key: wait.key, value: nil))
            }
            reply(wait.replyTo, .cacheValue(key: wait.key, value: record.payload))
        case let (.writtenValue(bytes), .increment):
            guard let bytes, let record = CacheRecord.decode(bytes), let n = DecimalInteger.parse(record.payload) else {
                return reply(wait.replyTo, .fail(.internal, "the increment's result is not an integer"))
            }
            reply(wait.replyTo, .cacheInteger(key: wait.key, value: n))
        case (.written, .increment):
            // Only a nack ends a write this way: the home finished it while this node was
            // declared dead, so the increment is durable but its result is lost.
            reply(wait.replyTo, .fail(.unavailable, "the increment was applied but its result was lost; read the key"))
        case (.written, _), (.writtenValue, _):
            reply(wait.replyTo, .cacheWritten(key: wait.key))
        case (.failed(.refused), _):
            reply(wait.replyTo, .fail(.rejected, "value is not an integer or out of range"))
        case (.failed(.outcomeUnknown), _):
            reply(wait.replyTo, .fail(.unavailable, "the key's home changed during the write: its outcome is unknown; read the key to find out"))
        case (.failed(.overloaded), _): reply(wait.replyTo, .fail(.overloaded, "too many operations wait on this key; retry"))
        case (.failed(.tooLarge), _): reply(wait.replyTo, .fail(.tooLarge, "the key or value is too large"))
        case (.failed(.noHome), _): reply(wait.replyTo, .fail(.noLeader, "the key's shard has no leader; retry"))
        }
    }

    /// A cache message for `target` — a home alias when the message is for a home, else a
    /// controller's Raft id: on the peer stream, or — to this node — delivered after the
    /// current step, in order, through the same path as a frame.
    func sendCache(_ message: CacheMessage, to target: CacheNodeID) {
        let peer: NodeID
        if message.isForHome {
            guard let home = cacheDuties.homesByAlias[target] else { return }
            peer = home.node
        } else {
            guard let node = NodeID(encoded: target.raw) else { return }
            peer = node
        }
        if peer == id {
            cacheDuties.loopback.append((message, cacheNode))
            return
        }
        guard let address = address(of: peer) else { return } // retransmitted later
        let frame = PeerMessage(callID: 0, origin: id, budgetMillis: 0, body: .cache(life: cacheDuties.life, message))
        out.append(.send(to: address, frame: PeerMessageCodec.encode(frame)))
    }

    func deliverLoopback() {
        guard !cacheDuties.delivering else { return }
        cacheDuties.delivering = true
        defer { cacheDuties.delivering = false }
        while !cacheDuties.loopback.isEmpty {
            let (message, from) = cacheDuties.loopback.removeFirst()
            deliverCache(message, from: from)
        }
    }

    /// A cache frame from `origin`. A frame of an older life of the sender is dropped; the
    /// first frame of a newer life reports the old life dead to every directory here (its
    /// copies went with it, and a request it left unfinished will never be unblocked).
    func receiveCache(_ message: CacheMessage, from origin: NodeID, life: UInt64) {
        guard peers[origin] != nil else { return } // not in the view yet: it retransmits
        if let known = cacheDuties.lives[origin] {
            if life < known { return }
            if life > known { cacheMemberDead(origin) }
        }
        cacheDuties.lives[origin] = life
        cacheDuties.messagesReceived &+= 1
        deliverCache(message, from: CacheNodeID(origin.value))
        deliverLoopback()
    }

    /// Delivers a message from the node named `sender` (its Raft id): a home hears the
    /// controller's id, a controller hears the alias of the sender's directory of the key.
    func deliverCache(_ message: CacheMessage, from sender: CacheNodeID) {
        if message.isForHome {
            let shard = cacheShard(of: message.key.bytes)
            guard cacheDuties.homes[shard] != nil else { return } // not the home (any more): the sender learns of the new one
            var effects: [HomeEffect] = []
            cacheDuties.homes[shard]?.receive(message, from: sender, at: time.now, into: &effects)
            carryHome(effects, shard: shard)
        } else {
            guard let node = NodeID(encoded: sender.raw) else { return }
            let home = cacheDuties.alias(node, cacheShard(of: message.key.bytes))
            var effects: [CacheEffect] = []
            cacheDuties.controllerSteps &+= 1
            cacheDuties.controller.receive(message, from: home, at: time.now, into: &effects)
            carryCache(effects)
        }
    }

    // MARK: time and leadership

    /// Every tick: the controller's and the directories' retransmissions and lease ends,
    /// loads asked again, operations past their time answered, and home moves followed.
    func performCacheDuties() {
        var effects: [CacheEffect] = []
        cacheDuties.controller.tick(at: time.now, into: &effects)
        carryCache(effects)
        for shard in cacheDuties.homes.keys.sorted() {
            var homeEffects: [HomeEffect] = []
            cacheDuties.homes[shard]?.tick(at: time.now, into: &homeEffects)
            carryHome(homeEffects, shard: shard)
        }
        let reloads = cacheDuties.reloads
        cacheDuties.reloads = []
        for r in reloads where cacheDuties.homes[r.shard]?.epoch == r.epoch {
            read(r.shard, for: .cacheLoad(shard: r.shard, key: r.key, epoch: r.epoch))
        }
        if time.now >= cacheDuties.nextPurge {
            cacheDuties.nextPurge = time.now + CacheDuties.purgeEvery
            purgeExpiredRecords()
        }
        for op in cacheDuties.ops.keys.sorted() {
            guard let wait = cacheDuties.ops[op], wait.expires <= time.now else { continue }
            cacheDuties.ops[op] = nil
            reply(wait.replyTo, .fail(.unavailable, wait.kind != .read
                ? "the key's home did not answer in time: the write's outcome is unknown; read the key to find out"
                : "the key's home did not answer in time; retry"))
        }
        followCacheHomeMoves()
    }

    /// Tells the controller of every shard whose directory ended since the last look — a
    /// new leader, or the same leader in a new term (its directory was rebuilt), or a shard
    /// this node no longer hosts: copies the old directory granted are dropped, reads ask the
    /// new one, writes end outcome-unknown.
    ///
    /// A leader merely unknown for a while (an election timeout on this follower) is no
    /// move: the directory may still be serving, and a request given up on it would leave
    /// the directory waiting for an unblock that never comes.
    func followCacheHomeMoves() {
        guard cacheDuties.seenLeadershipVersion != host.leadershipVersion else { return }
        cacheDuties.seenLeadershipVersion = host.leadershipVersion
        var current: [ShardID: SeenHome] = [:]
        var hosted: Set<ShardID> = []
        for status in host.statuses {
            hosted.insert(status.shard)
            if let l = status.leader { current[status.shard] = SeenHome(leader: l, term: status.term.value) }
        }
        var moved: [(ShardID, SeenHome)] = []
        for shard in cacheDuties.seenHomes.keys.sorted() {
            guard let old = cacheDuties.seenHomes[shard] else { continue }
            if let now = current[shard] {
                if now != old { moved.append((shard, old)) }
            } else if !hosted.contains(shard) {
                moved.append((shard, old))
                cacheDuties.seenHomes[shard] = nil
            }
        }
        for (shard, seen) in current { cacheDuties.seenHomes[shard] = seen }
        for (shard, old) in moved {
            let alias = cacheDuties.alias(old.leader, shard)
            // Only keys of `shard` have this alias as their home; the closure must not touch
            // `cacheDuties` while the controller is being changed.
            let newHome = current[shard].map { cacheDuties.alias($0.leader, shard) }
            var effects: [CacheEffect] = []
            cacheDuties.controller.homeChanged(from: alias, resolve: { _ in newHome }, at: time.now, into: &effects)
            carryCache(effects)
        }
    }

    /// The membership view changed: peers now dead, or gone from the view, are reported to
    /// every directory once (their copies stop counting after their lease bound, a request
    /// they left unfinished ends); peers alive again may be reported again later.
    func followCacheMembership() {
        let all = cacheDuties.viewPeers.union(peers.keys)
        cacheDuties.viewPeers = Set(peers.keys)
        for pid in all.sorted() {
            if peers[pid]?.live == true {
                cacheDuties.reportedDead.remove(pid)
                // A restart quicker than a death verdict shows only as a newer life.
                if let life = peers[pid]?.life {
                    if let known = cacheDuties.lives[pid], life > known { cacheMemberDead(pid) }
                    if life > (cacheDuties.lives[pid] ?? 0) { cacheDuties.lives[pid] = life }
                }
            } else if !cacheDuties.reportedDead.contains(pid) {
                cacheDuties.reportedDead.insert(pid)
                cacheMemberDead(pid)
            }
        }
    }

    func cacheMemberDead(_ pid: NodeID) {
        for shard in cacheDuties.homes.keys.sorted() {
            var effects: [HomeEffect] = []
            cacheDuties.homes[shard]?.memberDead(CacheNodeID(pid.value), at: time.now, into: &effects)
            carryHome(effects, shard: shard)
        }
    }

    /// The node stops: every cache operation waiting is failed.
    func stopCache(reason: String) {
        let ops = cacheDuties.ops
        cacheDuties.ops = [:]
        for op in ops.keys.sorted() { if let w = ops[op] { reply(w.replyTo, .fail(.unavailable, reason)) } }
    }

    // MARK: views

    /// The node's cache counters: its controller, its directories, and those it discarded.
    public var cacheStatistics: CacheMetrics {
        var m = cacheDuties.controller.metrics
        m.messagesSent &+= cacheDuties.retired.messagesSent
        m.invalidationsSent &+= cacheDuties.retired.invalidationsSent
        m.directoryEntries = 0
        for shard in cacheDuties.homes.keys.sorted() {
            guard let h = cacheDuties.homes[shard] else { continue }
            m.messagesSent &+= h.metrics.messagesSent
            m.invalidationsSent &+= h.metrics.invalidationsSent
            m.directoryEntries += h.entryCount
        }
        return m
    }

    /// How many operations and messages the controller has handled (checkers look at the
    /// copies again only when it moved: nothing else grants a copy).
    public var cacheControllerSteps: UInt64 { cacheDuties.controllerSteps }

    /// Reads this node's controller answered from a local copy (a driver that sees it grow
    /// across one read's input knows the read was a hit).
    public var cacheHits: UInt64 { cacheDuties.controller.metrics.hits }

    /// Reads a driver answered from its mirror of this node's `.localCopies` without an input
    /// each (`LocalCopyMirror`): they count as hits and refresh the LRU order of `keys`.
    public func cacheReadsServedLocally(_ keys: [CacheKey], count: UInt64) {
        cacheDuties.controller.servedLocally(keys, count: count)
    }

    /// Coherence messages this node received from peers.
    public var cacheMessagesReceived: UInt64 { cacheDuties.messagesReceived }

    /// The controller's state of `key` at the node's `now` (for checkers).
    public func cacheLine(of key: [UInt8], at now: Instant) -> (state: LineState, readable: Bool) {
        let k = CacheKey(key)
        return (cacheDuties.controller.state(of: k, at: now), cacheDuties.controller.readableValue(of: k, at: now) != nil)
    }
}

extension Node {
    /// The shard that homes cache key `key` (for simulators and tools).
    public func cacheShardID(of key: [UInt8]) -> ShardID { cacheShard(of: key) }
}

extension Node {
    /// One line per directory and the controller's busy keys, for a failing run's report.
    public func cacheSummary(at now: Instant, keys: [[UInt8]] = []) -> String {
        var parts: [String] = []
        for shard in cacheDuties.homes.keys.sorted() {
            guard let h = cacheDuties.homes[shard] else { continue }
            let states = keys.filter { cacheShard(of: $0) == shard }.map { h.describe(CacheKey($0)) }
            parts.append("home s\(shard.value) epoch \(h.epoch) serving from \(h.servingFrom) entries \(h.entryCount) \(states.joined(separator: " "))")
        }
        let busy = cacheDuties.controller.keys.map { cacheDuties.controller.describe($0, at: now) }
        parts.append("controller \(busy.joined(separator: " ")) ops \(cacheDuties.ops.count) reloads \(cacheDuties.reloads.count)")
        parts.append("leaders " + host.statuses.map { "s\($0.shard.value):\($0.leader.map { "\($0.value)" } ?? "-")" }.joined(separator: " "))
        return parts.joined(separator: "; ")
    }
}
