import ChorusBase
import ChorusMembership
import ChorusRing
import ChorusShards

// SWIM membership inside the node: packets in (datagrams, and joins and state syncs over
// peer streams), join, leave, tag changes and the protocol's timers; the core's sends become
// `.datagram`/`.streamPacket` effects, its events log lines and `.memberEvent`s, and every
// view change reaches the shard layer (`applyView`) within the same input.
//
// Invariants: a raised incarnation is handed out as `.persistIncarnation` before any packet
// of the same input that carries it; the shard layer sees the view after every member event,
// and at least every ten ticks (a suspect member's tags can change without one); this
// node's shard-set tags follow its host (founded, adopted) without the driver's help.
extension Node {

    /// Starts SWIM membership for this node (before any other membership input). Its tags
    /// are `start.tags` with the reserved shard tags applied. Calling it again before
    /// anything was sent replaces the membership (a driver that learned its API address late).
    public func startMembership(_ start: MembershipStart, at time: NodeTime) throws(SettingsError) {
        let tags: Tags
        do { tags = try start.tags.applying(shardTags(api: start.api)) } catch {
            throw SettingsError("tags: \(error.message)")
        }
        membership = try Membership(name: name, address: start.address, tags: tags, incarnation: start.incarnation,
                                    settings: start.settings, seed: start.seed, now: time.now)
        membershipAPI = start.api
        announcedIncarnation = start.incarnation
        membershipOut = []
        lastJoinAttempts = nil
        viewStale = true
    }

    // MARK: inputs

    /// A UDP datagram. Shard batches and peer RPC only travel on peer streams: a datagram
    /// claiming to be one is noise. Bad bytes are counted and logged, never fatal.
    public func receive(datagram bytes: [UInt8], from source: Endpoint, at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        guard !ShardBatchCodec.isBatch(bytes), !PeerMessageCodec.isMessage(bytes) else {
            counters.malformedPackets &+= 1
            log(.debug, "dropped a peer-stream frame sent as a datagram", ["from": "\(source)", "bytes": "\(bytes.count)"])
            return
        }
        receivePacket(bytes, from: source, via: .datagram)
    }

    /// Joins through `seeds` (none: this node is the first member of its own cluster); the
    /// membership retries with backoff until a seed answers. Also merges two clusters.
    public func join(seeds: [Endpoint], at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        membership?.join(seeds: seeds, at: time.now, into: &membershipOut)
        absorbMembership()
    }

    /// Starts a graceful leave; `leaveSpread` says when the driver may exit.
    public func leave(at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        membership?.leave(at: time.now, into: &membershipOut)
        absorbMembership()
    }

    /// Replaces this node's tags (the operator's; the reserved shard tags are the node's own
    /// and are put back at the next view refresh).
    public func setTags(_ tags: Tags, at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        membership?.setTags(tags, at: time.now, into: &membershipOut)
        absorbMembership()
    }

    /// Marks this node as draining: the ring leaves it out, so every group's leader moves its
    /// replica elsewhere. False when the tag cannot be set (then there is nothing to wait for).
    public func markDraining(at time: NodeTime, into effects: inout [NodeEffect]) -> Bool {
        begin(time)
        defer { end(into: &effects) }
        guard let current = membership?.tags else { return false }
        do {
            membership?.setTags(try current.applying([(RingMember.drainingTag, RingMember.drainingValue)]), at: time.now, into: &membershipOut)
        } catch {
            log(.warn, "cannot set the draining tag; leaving without handing replicas off", ["error": error.description])
            return false
        }
        viewStale = true
        absorbMembership()
        return true
    }

    /// The membership's timers: call at or after `nextDeadline` (an early call finds nothing
    /// due). `tick` runs them too.
    public func wake(at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        runMembershipTimers()
    }

    /// When the membership needs `wake` next (nil without membership).
    public var nextDeadline: Instant? { membership?.nextDeadline }

    /// True once a graceful leave has been spread (or no live member is left to tell): the
    /// driver may exit.
    public var leaveSpread: Bool {
        guard membership?.isLeaving == true else { return false }
        return membership?.hasLeft == true || membership?.liveCount == 0
    }

    // MARK: plumbing

    func receivePacket(_ bytes: [UInt8], from source: Endpoint, via transport: Transport) {
        guard let cluster = membership?.settings.cluster else { return }
        let packet: Packet
        do { packet = try PacketCodec.decode(bytes) } catch {
            counters.malformedPackets &+= 1
            log(.debug, "dropped undecodable packet", ["from": "\(source)", "transport": transport == .stream ? "tcp" : "udp",
                                                       "bytes": "\(bytes.count)", "reason": error.description])
            return
        }
        if packet.cluster != cluster {
            // The core counts it (droppedWrongCluster); say so here, where the source is known.
            log(.debug, "dropped packet of another cluster", ["from": "\(source)", "sender": packet.sender, "cluster_id": "\(packet.cluster)"])
        } else {
            counters.packetBytesReceived[packet.message.kind, default: 0] &+= UInt64(bytes.count)
        }
        membership?.receive(packet, from: source, via: transport, at: time.now, into: &membershipOut)
        absorbMembership()
    }

    func runMembershipTimers() {
        guard membership != nil else { return }
        membership?.tick(at: time.now, into: &membershipOut)
        absorbMembership()
    }

    /// Turns what the membership appended into node effects, in order: the incarnation to
    /// persist first, then its sends and events; then gives a changed view to the shard
    /// layer, whose tag changes (a shard set founded or adopted) go out the same way.
    func absorbMembership() {
        // Founding or adopting a shard set changes our tags once, which changes the view once:
        // two rounds settle it; the bound only guards against a loop that should not exist.
        for _ in 0..<4 {
            if let incarnation = membership?.incarnation, incarnation != announcedIncarnation {
                announcedIncarnation = incarnation
                out.append(.persistIncarnation(incarnation))
            }
            var batch: [MembershipEffect] = []
            swap(&batch, &membershipOut)
            for effect in batch {
                switch effect {
                case let .send(packet, to, via):
                    let bytes = PacketCodec.encode(packet)
                    switch via {
                    case .datagram: out.append(.datagram(to: to, bytes: bytes, kind: packet.message.kind))
                    case .stream: out.append(.streamPacket(to: to, bytes: bytes, kind: packet.message.kind))
                    }
                case let .event(event):
                    logMemberEvent(event)
                    out.append(.memberEvent(event))
                    viewStale = true
                }
            }
            followJoin()
            guard viewStale else { return }
            refreshView()
            if membershipOut.isEmpty { return }
        }
    }

    /// Gives the membership view to the shard layer (peers, founding, placement targets) and
    /// publishes this node's shard-set tags if they moved.
    func refreshView() {
        guard membership != nil else { return }
        viewStale = false
        viewRefreshedAt = time.now
        publishShardSet()
        if let members = membership?.members(at: time.now) { applyView(members) }
        publishShardSet() // founded just now, with others
    }

    /// Announces this node's shard set (and its founding expectation) in its tags once it
    /// has one.
    func publishShardSet() {
        guard let api = membershipAPI, let current = membership?.tags else { return }
        let changes = shardTags(api: api).filter { key, value in
            (key == ShardTags.shardSet || key == ShardTags.bootstrapExpect) && current[key] != value
        }
        guard !changes.isEmpty else { return }
        do {
            membership?.setTags(try current.applying(changes), at: time.now, into: &membershipOut)
        } catch {
            log(.error, "cannot publish the shard set tag", ["error": error.description])
        }
    }

    /// Logs join retries (no seed answered) and completion.
    func followJoin() {
        let attempts = membership?.joinAttempts
        if let attempts, attempts > (lastJoinAttempts ?? 0) {
            counters.joinRetries &+= 1
            log(.warn, "no seed answered the join; retrying with backoff", ["attempt": "\(attempts + 1)"])
        }
        if attempts == nil, lastJoinAttempts != nil, membership?.hasJoined == true {
            log(.info, "joined the cluster", ["members_alive": "\(membership?.count(of: .alive) ?? 0)"])
        }
        lastJoinAttempts = attempts
    }

    private func logMemberEvent(_ event: MemberEvent) {
        let fields = ["name": event.name, "address": "\(event.address)", "incarnation": "\(event.incarnation)"]
        switch event.kind {
        case .joined: log(.info, "member joined", fields)
        case .alive: log(.info, "member refuted suspicion", fields)
        case .suspect: log(.warn, "member suspected", fields)
        case .dead: log(.warn, "member declared dead", fields)
        case .left: log(.info, "member left", fields)
        case .updated: log(.info, "member updated", ["name": event.name, "address": "\(event.address)", "tags": event.tags.description])
        }
    }
}
