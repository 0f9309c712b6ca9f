import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards

// The shard groups on the agent's loop: batches in and out over the peer streams, one tick
// for every group, the ready loop once per turn, and placement from the ring.
extension Agent {
    /// Reserved tag: this node's Raft member id (hex), how peers address its shard replicas.
    static let raftTag = "chorus.raft"
    /// Reserved tag: this node's HTTP API address, where other nodes forward requests.
    static let apiTag = "chorus.api"
    /// Reserved tag: the shard set (epoch, hex) this node belongs to, once it has one.
    static let shardSetTag = "chorus.shards"
    /// Tags `PUT /v1/tags` cannot change: they describe this node to the shard layer.
    /// (`chorus.draining` may be set by hand: it takes a node out of placement.)
    static let reservedTags: Set<String> = [raftTag, apiTag, shardSetTag]

    /// The reserved tags that describe this node's shard layer.
    static func shardTags(_ shards: ShardRuntime, api: Endpoint) -> [(String, String?)] {
        [(raftTag, String(shards.id.value, radix: 16)), (apiTag, api.description),
         (shardSetTag, shards.host.epoch.map { String($0, radix: 16) })]
    }

    /// Publishes the reserved tags, founds the shard set if this node starts a new cluster,
    /// and starts the shard tick.
    func beginShards() {
        if shardsFounded {
            log.info("founded the shard set", ["shards": settings.placement.shardCount, "raft_id": String(shards.id.value, radix: 16)])
        }
        if shards.ephemeral {
            log.warn("no --data-dir: shard data lives in a temporary directory and is gone after a restart", ["directory": shards.directory])
        }
        log.info("shards recovered", ["replicas": shards.host.order.count, "raft_id": String(shards.id.value, radix: 16)])
        publishShardSet()
        scheduleShardTick()
        scheduleShardDrive()
    }

    private func scheduleShardTick() {
        loop.schedule(after: settings.shardTick) { [weak self] in
            guard let self, !self.exiting else { return }
            self.shards.host.tick()
            self.shards.ticks += 1
            if self.shards.ticks % 10 == 1 { self.refreshShardPlacement() }
            self.followDrain()
            self.lockLeaderTick()
            // Gauges and counters follow the host once a tick, not on every drive (a hot path
            // under load): /metrics lags by at most one tick.
            self.shardMetrics.refresh(from: self.shards.host)
            self.scheduleShardDrive()
            self.scheduleShardTick()
        }
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
        guard !exiting || shards.host.hasReady else { return }
        let replies: [ShardReply]
        do {
            replies = try shards.store.drive(&shards.host, clock: { MonotonicClock.now() },
                                             synced: { self.shardMetrics.fsyncLatency.observe($0.seconds) }) { batches in
                for b in batches { self.sendShardBatch(b) }
            }
        } catch {
            log.error("shard storage failed; the node stops and must recover from disk", ["error": "\(error)"])
            shards.failAll("storage failed")
            finish(status: 1)
            return
        }
        for latency in shards.settle(replies, at: loop.now()) { shardMetrics.commitLatency.observe(latency) }
        followLockEvents()
    }

    func sendShardBatch(_ batch: ShardBatch) {
        guard let peer = shards.peers[batch.to], peer.live else {
            metrics.sendFailed(transport: "tcp")
            return
        }
        streams.send(ShardBatchCodec.encode(batch), to: peer.address)
    }

    /// A frame from a peer stream that starts like a shard batch.
    func receiveShardBatch(_ bytes: [UInt8], from source: Endpoint) {
        let batch: ShardBatch
        do { batch = try ShardBatchCodec.decode(bytes) } catch {
            shardMetrics.malformedBatch()
            log.debug("dropped undecodable shard batch", ["from": source, "bytes": bytes.count, "reason": error.description])
            return
        }
        shards.host.receive(batch)
        scheduleShardDrive()
    }

    /// Announces this node's shard set in its tags once it has one (founded or adopted).
    func publishShardSet() {
        let epoch = shards.host.epoch.map { String($0, radix: 16) }
        guard membership.tags[Agent.shardSetTag] != epoch else { return }
        do {
            membership.setTags(try membership.tags.applying([(Agent.shardSetTag, epoch)]), at: loop.now(), into: &effects)
            afterInput()
        } catch {
            log.error("cannot publish the shard set tag", ["error": error.description])
        }
    }

    /// Rebuilds the peer directory from the membership view and gives every group its
    /// placement target (the ring's replicas, as Raft ids).
    func refreshShardPlacement() {
        publishShardSet()
        var peers: [NodeID: ShardRuntime.ShardPeer] = [:]
        var ids: [String: NodeID] = [:]
        var eligible: [Membership.MemberInfo] = []
        let mine = shards.host.epoch.map { String($0, radix: 16) }
        for m in membership.members(at: loop.now()) {
            guard let text = m.tags[Agent.raftTag], let value = UInt64(text, radix: 16), let id = NodeID(encoded: value) else { continue }
            ids[m.name] = id
            // Members of another shard set (a cluster that founded its own shards and then
            // merged with this one) cannot take replicas of ours: leave them out of placement.
            let theirs = m.tags[Agent.shardSetTag]
            if theirs == nil || theirs == mine { eligible.append(m) } else { shards.foreignMembers.insert(m.name) }
            guard id != shards.id else { continue }
            peers[id] = .init(name: m.name, address: m.address, api: m.tags[Agent.apiTag], live: m.status.isLive,
                              sameShardSet: theirs == mine)
        }
        shards.peers = peers
        shards.idsByName = ids
        let eligibleNames = eligible.filter { RingMember($0).isOnRing }.map(\.name)
        if eligibleNames != shards.placementNames || shards.placementMap == nil {
            let ring = Ring(view: eligible, virtualNodesPerMember: settings.placement.virtualNodesPerMember)
            shards.placementMap = ShardMap(ring: ring, settings: settings.placement)
            shards.placementNames = eligibleNames
        }
        guard let map = shards.placementMap else { return }
        var targets: [ShardID: [NodeID]] = [:]
        for p in map.placements {
            let replicas = p.replicas.compactMap { ids[$0] }
            // A placement naming members whose Raft id is not known yet waits for it.
            if replicas.count == p.replicas.count { targets[p.shard] = replicas }
        }
        shards.host.setTargets(targets)
    }

    /// The name of the member with Raft id `id`, if known.
    func memberName(of id: NodeID) -> String? {
        id == shards.id ? settings.name : shards.peers[id]?.name
    }

    // MARK: draining before a graceful leave

    /// True when a graceful leave should first hand this node's replicas to others.
    var shouldDrain: Bool {
        !shards.host.votingShards.isEmpty && settings.drainTimeout > .zero
            && shards.peers.values.contains { $0.live && $0.sameShardSet }
    }

    /// Marks this node as draining: the ring leaves it out, so every group's leader moves
    /// its replica elsewhere (and leaders here hand leadership over). The leave proper
    /// follows once this node votes nowhere, or after `drainTimeout`.
    func startDrain(reason: String) {
        guard shards.drainDeadline == nil else { return }
        shards.drainDeadline = loop.now() + settings.drainTimeout
        log.info("draining shard replicas before leaving", ["reason": reason, "voting_replicas": shards.host.votingShards.count,
                                                             "timeout": settings.drainTimeout.description])
        do {
            membership.setTags(try membership.tags.applying([(RingMember.drainingTag, RingMember.drainingValue)]), at: loop.now(), into: &effects)
        } catch {
            log.warn("cannot set the draining tag; leaving without handing replicas off", ["error": error.description])
            shards.drainDeadline = loop.now()
        }
        afterInput()
        refreshShardPlacement()
    }

    private func followDrain() {
        guard let deadline = shards.drainDeadline else { return }
        let voting = shards.host.votingShards.count
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
