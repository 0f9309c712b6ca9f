import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusRaft
import ChorusRing
import ChorusShards

// The agent as the driver of its `Node`: ticks on a timer, frames from the peer streams, the
// host's ready loop once per loop turn, and the node's effects carried out in order
// (NodeEffect documents the obligations).
extension Agent {
    /// Says how the shard set starts here, and starts the shard tick (the node publishes its
    /// reserved tags itself).
    func beginShards() {
        if shardsFounded {
            log.info("no --seed and no stored shards: founded the shard set of a new cluster, this node the only voter of every shard",
                     ["shards": settings.placement.shardCount, "raft_id": String(shards.id.value, radix: 16),
                      "shard_set": shards.node.shardSet ?? "", "hint": "start other nodes with --seed \(advertisedEndpoint)"])
        } else if shards.node.host.epoch == nil, let n = settings.bootstrapExpect {
            log.info("no stored shards: waiting for \(n) nodes started with --bootstrap-expect \(n) to found the shard set together",
                     ["seeds": settings.seeds.isEmpty ? "none" : settings.seeds.joined(separator: ",")])
        } else if shards.node.host.epoch == nil {
            log.info("no stored shards: joining the cluster through its seeds; this node never founds one",
                     ["seeds": settings.seeds.isEmpty ? "none" : settings.seeds.joined(separator: ",")])
        }
        if shards.ephemeral {
            log.warn("no --data-dir: shard data lives in a temporary directory and is gone after a restart", ["directory": shards.directory])
        }
        log.info("shards recovered", ["replicas": shards.node.host.order.count, "raft_id": String(shards.id.value, radix: 16)])
        scheduleShardTick()
        scheduleShardDrive()
    }

    var nodeTime: NodeTime { NodeTime(now: loop.now(), wallMillis: WallClock.unixMillis()) }

    /// Ticks the node at its `nextTick` (one tick from the last while anything is in motion,
    /// a few times a second when idle) and re-arms.
    private func scheduleShardTick() {
        armShardTick(at: nextShardTick)
    }

    /// The node's `nextTick`; a draining node keeps the regular tick, so that it notices at
    /// once when its last replica is handed off.
    private var nextShardTick: Instant {
        let due = shards.node.nextTick
        guard shards.drainDeadline != nil else { return due }
        return min(due, loop.now() + settings.shardTick)
    }

    private func armShardTick(at deadline: Instant) {
        if let t = shards.tickTimer { loop.cancel(t) }
        shards.tickAt = deadline
        shards.tickTimer = loop.schedule(at: deadline) { [weak self] in
            guard let self else { return }
            self.shards.tickTimer = nil
            self.shards.tickAt = nil
            guard !self.exiting else { return }
            var effects: [NodeEffect] = []
            let served = self.localCacheReads.takeServed()
            if served.count > 0 { self.shards.node.cacheReadsServedLocally(served.keys, count: served.count) }
            self.shards.node.tick(at: self.nodeTime, into: &effects)
            self.perform(effects)
            self.followMembership()
            self.followDrain()
            // Gauges and counters follow the host once a tick, not on every drive (a hot path
            // under load): /metrics lags by at most one tick (the quiet tick when idle).
            self.shardMetrics.refresh(from: self.shards.node.host)
            self.queueMetrics.refresh(from: self.shards.node.host, nowMillis: self.nodeTime.wallMillis)
            self.cacheMetrics.refresh(from: self.shards.node.cacheStatistics)
            self.scheduleShardDrive()
            self.scheduleShardTick()
        }
    }

    /// After an input: an idle node's distant tick comes sooner once something is in motion.
    func followTickSchedule() {
        guard !exiting, let armed = shards.tickAt else { return }
        let due = nextShardTick
        if due < armed { armShardTick(at: due) }
    }

    /// Carries out the host's work at the end of this loop turn, so everything received and
    /// proposed during the turn shares one fsync.
    func scheduleShardDrive() {
        guard !shards.driveScheduled else { return }
        shards.driveScheduled = true
        loop.execute { [weak self] in self?.driveShards() }
    }

    func driveShards() {
        shards.driveScheduled = false
        let node = shards.node
        guard !exiting || node.host.hasReady else { return }
        let replies: [ShardReply]
        do {
            replies = try shards.store.drive(&node.host, clock: { MonotonicClock.now() },
                                             synced: { self.shardMetrics.fsyncLatency.observe($0.seconds) }) { batches in
                self.sendShardBatches(batches)
            }
        } catch {
            log.error("shard storage failed; the node stops and must recover from disk", ["error": "\(error)"])
            stopNode("storage failed")
            finish(status: 1)
            return
        }
        var effects: [NodeEffect] = []
        node.shardsAdvanced(replies, at: nodeTime, into: &effects)
        perform(effects)
    }

    /// Sends the frames the node makes of `batches`. What cannot leave (no address, too
    /// large) the node reports to its groups itself after the drive; a frame the streams
    /// refuse comes back through `report(_:)` as unreachable.
    func sendShardBatches(_ batches: [ShardBatch]) {
        let node = shards.node
        let undelivered = node.counters.shardFramesUndelivered
        for (address, frame) in node.frames(for: batches) { streams.send(frame, to: address) }
        for _ in undelivered..<node.counters.shardFramesUndelivered { metrics.sendFailed(transport: "tcp") }
    }

    /// A peer-stream frame for the node (a shard batch, a peer RPC message or a membership
    /// packet).
    func receiveNodeFrame(_ bytes: [UInt8], from source: Endpoint) {
        var effects: [NodeEffect] = []
        shards.node.receive(frame: bytes, from: source, at: nodeTime, into: &effects)
        perform(effects)
        followMembership()
        scheduleShardDrive()
    }

    /// The stream to a peer broke: the node ends its calls to it.
    func peerUnreachable(_ address: Endpoint) {
        // Streams report problems from inside a send, which may run while the host is being
        // driven: the node hears of it on the next loop turn.
        loop.execute { [weak self] in self?.nodeHearsUnreachable(address) }
    }

    private func nodeHearsUnreachable(_ address: Endpoint) {
        var effects: [NodeEffect] = []
        shards.node.peerUnreachable(address, at: nodeTime, into: &effects)
        perform(effects)
    }

    /// Hands a parsed client request to the node; `present` turns its reply into HTTP.
    func submit(_ request: ClientRequest, _ responder: HTTPResponder, present: @escaping (ClientReply) -> HTTPResponse = Agent.present) {
        submit(request) { reply in responder.respond(present(reply)) }
    }

    /// Hands a parsed client request to the node; `answer` gets its reply, once, on the loop.
    func submit(_ request: ClientRequest, answer: @escaping (ClientReply) -> Void) {
        let ticket = shards.ticket()
        shards.waiting[ticket] = (answer, loop.now())
        var effects: [NodeEffect] = []
        shards.node.handle(request, ticket: ticket, at: nodeTime, into: &effects)
        perform(effects)
        scheduleShardDrive()
    }

    /// Carries out the node's effects in order.
    func perform(_ effects: [NodeEffect]) {
        defer { followTickSchedule() }
        for effect in effects {
            switch effect {
            case let .reply(ticket, reply):
                guard let w = shards.waiting.removeValue(forKey: ticket) else { continue }
                if case .failure = reply {} else { shardMetrics.commitLatency.observe((loop.now() - w.started).seconds) }
                w.answer(reply)
            case let .send(to, frame):
                streams.send(frame, to: to)
            case let .persistIncarnation(incarnation):
                persist(incarnation: incarnation)
            case let .datagram(to, bytes, kind):
                sendDatagram(bytes, to: to, kind: kind)
            case let .streamPacket(to, bytes, kind):
                metrics.sent(kind, bytes: bytes.count)
                streams.send(bytes, to: to)
            case let .memberEvent(event):
                metrics.event(event.kind)
            case let .localCopies(changes):
                localCacheReads.apply(changes)
            case let .log(line):
                let level: Log.Level
                switch line.level {
                case .debug: level = .debug
                case .info: level = .info
                case .warn: level = .warn
                case .error: level = .error
                }
                log.log(level, line.message, pairs: line.fields.map { (key: $0.0, value: $0.1 as Any) })
            }
        }
        if !effects.isEmpty { scheduleShardDrive() }
    }

    /// Fails everything the node still owes (the agent stops).
    func stopNode(_ reason: String) {
        var effects: [NodeEffect] = []
        shards.node.stop(reason: reason, into: &effects)
        perform(effects)
        for ticket in shards.waiting.keys.sorted() {
            shards.waiting.removeValue(forKey: ticket)?.answer(.failure(ClientFailure(code: .unavailable, message: reason)))
        }
    }

    /// Hands a membership input to the node and carries out what it asks.
    func membershipInput(_ input: (Node, NodeTime, inout [NodeEffect]) -> Void) {
        var effects: [NodeEffect] = []
        input(shards.node, nodeTime, &effects)
        perform(effects)
        followMembership()
    }

    // MARK: draining before a graceful leave

    /// True when a graceful leave should first hand this node's replicas to others.
    var shouldDrain: Bool { settings.drainTimeout > .zero && shards.node.shouldDrain }

    /// Marks this node as draining: the ring leaves it out, so every group's leader moves
    /// its replica elsewhere (and leaders here hand leadership over). The leave proper
    /// follows once this node votes nowhere, or after `drainTimeout`.
    func startDrain(reason: String) {
        guard shards.drainDeadline == nil else { return }
        shards.drainDeadline = loop.now() + settings.drainTimeout
        log.info("draining shard replicas before leaving", ["reason": reason, "voting_replicas": shards.node.host.votingShards.count,
                                                             "timeout": settings.drainTimeout.description])
        var marked = false
        membershipInput { node, time, effects in marked = node.markDraining(at: time, into: &effects) }
        if !marked { shards.drainDeadline = loop.now() }
    }

    private func followDrain() {
        guard let deadline = shards.drainDeadline else { return }
        let voting = shards.node.host.votingShards.count
        let now = loop.now()
        guard voting == 0 || now >= deadline else { return }
        shards.drainDeadline = nil
        if voting == 0 {
            log.info("every shard replica handed off")
        } else {
            log.warn("drain timed out; leaving with replicas still voting here", ["voting_replicas": voting])
        }
        leaveNow(reason: "drained")
    }
}
