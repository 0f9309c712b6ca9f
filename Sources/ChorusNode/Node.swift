import ChorusBase
import ChorusCache
import ChorusLocks
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire

/// One Chorus node as a deterministic state machine: the multi-Raft shard host, the lock
/// service's leader-side soft state, request routing and the peer RPC, composed. Drivers (the
/// runtime's agent, the simulator) feed it inputs and carry out its effects; it never reads a
/// clock, touches a socket or file, or draws from the system's random source.
///
/// Inputs: `handle(_:ticket:at:into:)` (a typed client request), `receive(frame:from:at:into:)`
/// (a peer-stream frame: a shard batch, a peer RPC message or a membership packet),
/// `receive(datagram:from:at:into:)` (a membership datagram), `tick(at:into:)` (at
/// `nextTick`), `wake(at:into:)` (at `nextDeadline`, the membership's timers),
/// `join(seeds:at:into:)`, `leave(at:into:)`, `setTags(_:at:into:)`, and
/// `shardsAdvanced(_:at:into:)` (what the host's drive settled). A node started without
/// membership (`startMembership` never called) takes its view from `updateView(_:at:into:)`. Effects: `NodeEffect`, whose
/// documentation gives the order a driver must follow.
///
/// Where each rule lives:
/// - routing a request to its shard's leader, forwarding, retries: `Node+Routing.swift`
/// - serving a request on the leader (proposals, reads, keep-alives): `Node+Serving.swift`
/// - the lock service's leader duties (leases, waits, drops, audit, detector): `LockDuties.swift`
///   and `Node+LockDuties.swift`
/// - peer RPC in and out: `Node+PeerRPC.swift`
/// - membership view → peers, shard-set identity, placement targets: `Node+Placement.swift`
/// - SWIM membership in and out, view refreshes, the shard-set tags: `Node+Membership.swift`
///
/// Invariants: every client ticket handed in is answered exactly once (or failed by
/// `stop`); every outbound call ends once (reply or deadline); a keep-alive, and every answer
/// that depends on a session table, is given only after a ReadIndex round on the home shard
/// confirmed this node's leadership and it applied everything committed before the request
/// (`Node+Serving.swift`); nothing follows a `Set`/`Dictionary` order.
public final class Node {
    public let name: String
    public let settings: NodeSettings
    /// The shard groups. The driver drives it through its store between inputs.
    public var host: ShardHost<ShardState>
    public var id: NodeID { host.id }

    /// Other shard-hosting members by Raft id, from the last view.
    public internal(set) var peers: [NodeID: NodePeer] = [:]
    /// Member name → Raft id, for every member that published one.
    public internal(set) var idsByName: [String: NodeID] = [:]
    /// The placement computed from the members of this node's shard set.
    public internal(set) var placementMap: ShardMap?
    var placementNames: [String] = []
    /// Members seen carrying another shard set (logged once each).
    var foreignMembers: Set<String> = []
    public internal(set) var counters = NodeCounters()

    var rng: SeededRandom
    var time = NodeTime(now: .zero, wallMillis: 0)
    var out: [NodeEffect] = []
    var nextToken: UInt64 = 1
    /// Host tokens (proposals and reads in flight) and what their outcome is for.
    var awaiting: [UInt64: HostWait] = [:]
    var calls: PeerCalls<CallPurpose>
    /// Client requests waiting to be routed again, in the order they were deferred.
    var retries: [(at: Instant, request: Routed)] = []
    /// Requests from other nodes being served here.
    var inbound = 0
    var duties = LockDuties()
    var queueDuties = QueueDuties()
    var cacheDuties: CacheDuties
    /// Leaders' own commands to propose again through another shard's leader.
    var choreRetries: [ChoreRetry] = []
    var gathers: [UInt64: Gather] = [:]
    var nextGather: UInt64 = 1
    var stopped = false
    var lastServeSweep = Instant.zero
    /// Peers whose shard batches or frames could not leave during the last drive, in the
    /// order noted, to report unreachable once the drive is over (`Node+ShardFrames.swift`).
    var peersUndelivered: [NodeID] = []
    /// Founding with others (`Node+Founding.swift`): given up for an existing shard set, and
    /// the number of founders last reported seen.
    var foundingAbandoned = false
    var foundingSeen = -1

    /// The SWIM membership this node runs (`Node+Membership.swift`); nil when the driver
    /// supplies the view itself through `updateView(_:at:into:)`.
    public internal(set) var membership: Membership?
    /// Effects the membership appended and the node has not translated yet.
    var membershipOut: [MembershipEffect] = []
    /// The API address announced in the `chorus.api` tag.
    var membershipAPI: Endpoint?
    /// The last incarnation handed to the driver to persist.
    var announcedIncarnation: Incarnation = 0
    /// `membership.joinAttempts` after the last input, to notice retries and completion.
    var lastJoinAttempts: Int?
    /// A member event arrived since the view was last given to the shard layer.
    var viewStale = false
    /// When the view was last given to the shard layer.
    var viewRefreshedAt = Instant.zero
    /// When the last tick came (`Node+TickSchedule.swift`).
    var lastTick: Instant?
    /// The earliest queue lease or delay the last tick saw coming due on a partition this
    /// node leads (nil: none).
    var queueDeadline: Instant?

    /// A node over `host` (restored from its store by the driver). `seed` feeds every random
    /// choice (request ids, which replica to ask). `life` numbers this start of the node: a
    /// restart must pass a larger one (the cache tells a new life from the old by it).
    public init(name: String, host: ShardHost<ShardState>, settings: NodeSettings, seed: UInt64, life: UInt64 = 0) throws(NodeSettingsError) {
        try settings.validate()
        self.name = name
        self.host = host
        self.settings = settings
        cacheDuties = CacheDuties(node: host.id, life: life, settings: settings.cache)
        var rng = SeededRandom(seed: seed)
        calls = PeerCalls(maxPerPeer: settings.maxCallsPerPeer, maxTotal: settings.maxCalls, firstID: rng.next())
        self.rng = rng
    }

    // MARK: inputs

    /// A client request from a front door. It is answered by a `.reply` effect with `ticket`,
    /// now or after later inputs.
    public func handle(_ request: ClientRequest, ticket: ClientTicket, at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        guard !stopped else { reply(.client(ticket), .fail(.noLeader, "the node is stopping")); return }
        counters.clientRequests &+= 1
        route(Routed(request: request, replyTo: .client(ticket), deadline: time.now + settings.routingBudget))
    }

    /// A frame from a peer stream: a shard batch, or a peer RPC message. Bad bytes are
    /// counted and logged, never fatal.
    public func receive(frame: [UInt8], from source: Endpoint, at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        if membership != nil, !ShardBatchCodec.isBatch(frame), !PeerMessageCodec.isMessage(frame) {
            receivePacket(frame, from: source, via: .stream)
            return
        }
        if ShardBatchCodec.isBatch(frame) {
            guard !awaitsFounding else {
                counters.batchesBeforeFounding &+= 1
                return
            }
            do { host.receive(try ShardBatchCodec.decode(frame)) } catch {
                counters.malformedFrames &+= 1
                log(.debug, "dropped undecodable shard batch", ["from": "\(source)", "bytes": "\(frame.count)", "reason": error.description])
            }
            return
        }
        let message: PeerMessage
        do { message = try PeerMessageCodec.decode(frame) } catch {
            counters.malformedFrames &+= 1
            log(.debug, "dropped undecodable peer message", ["from": "\(source)", "bytes": "\(frame.count)", "reason": error.description])
            return
        }
        receive(message)
    }

    /// Time passes: one Raft tick for every group, then the lock duties, deferred routes and
    /// call deadlines.
    public func tick(at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        lastTick = time.now
        host.tick()
        performLockDuties()
        expireCalls()
        runRetries()
        expireGathers()
        expireServes()
        performQueueDuties()
        performCacheDuties()
        runMembershipTimers()
        // A suspect member's tags can change without an event: refresh now and then anyway.
        if time.now - viewRefreshedAt >= settings.tick * 10 { refreshView() }
    }

    /// Client requests whose proposal or read has not settled by their deadline (plus an
    /// acquire's patience) are answered `unavailable`: a leader cut off from its quorum never
    /// confirms a read, and its client must not wait for ever. The outcome of a proposal is
    /// then unknown; a retry with the same request id is applied at most once.
    func expireServes() {
        guard time.now - lastServeSweep >= .milliseconds(250) else { return }
        lastServeSweep = time.now
        let late = awaiting.filter { entry in
            switch entry.value {
            case let .serve(r, _), let .confirm(r, _, _):
                return r.deadline + .milliseconds(Int64(r.request.patienceMillis)) <= time.now
            case .peerPropose, .sessionState, .dropHere, .chore, .queueBatch, .queueTick, .deadLetterDrop, .cacheLoad, .cacheWrite, .cachePurge:
                return false
            }
        }.keys.sorted()
        for token in late {
            guard let wait = awaiting.removeValue(forKey: token), let to = wait.replyTo else { continue }
            reply(to, .fail(.unavailable, "the shard did not answer within the deadline; retry with the same request id"))
        }
    }

    /// What the host's last drive settled: reports the peers its batches could not reach
    /// (`frames(for:maxFrameBytes:)`), answers proposals and reads, follows leadership
    /// changes, and answers parked acquires whose waits settled. Call after every drive.
    public func shardsAdvanced(_ replies: [ShardReply], at time: NodeTime, into effects: inout [NodeEffect]) {
        begin(time)
        defer { end(into: &effects) }
        reportUndelivered()
        for reply in replies {
            guard let wait = awaiting.removeValue(forKey: reply.token) else { continue }
            settle(wait, reply.outcome)
        }
        followLeadership()
        settleNotifications()
        resweepParkedFetches()
        followCacheHomeMoves()
    }

    /// The node stops: every client request still waiting is failed, every parked request from
    /// a peer is refused.
    public func stop(reason: String, into effects: inout [NodeEffect]) {
        defer { end(into: &effects) }
        stopped = true
        let waits = awaiting
        awaiting = [:]
        for token in waits.keys.sorted() {
            if let w = waits[token], let to = w.replyTo { reply(to, .fail(.unavailable, reason)) }
        }
        for (_, request) in retries { reply(request.replyTo, .fail(.unavailable, reason)) }
        retries = []
        for key in duties.parked.keys.sorted() { for p in duties.parked[key] ?? [] { reply(p.replyTo, .fail(.unavailable, reason)) } }
        duties.parked = [:]
        for call in calls.removeAll() { fail(call.purpose, reason: reason) }
        for id in gathers.keys.sorted() { if let g = gathers.removeValue(forKey: id) { finish(g) } }
        stopCache(reason: reason)
    }

    /// Where a shard batch for `peer` goes (nil when the peer is unknown or not live).
    public func address(of peer: NodeID) -> Endpoint? {
        guard let p = peers[peer], p.live else { return nil }
        return p.address
    }

    /// A fresh request id (for a front door whose client gave none): 32 hex digits from the
    /// node's seeded generator.
    public func newRequestID() -> String {
        String(rng.next(), radix: 16) + String(rng.next(), radix: 16)
    }

    // MARK: plumbing

    func begin(_ t: NodeTime) { time = t }

    func end(into effects: inout [NodeEffect]) {
        // Before every other effect of the input: a copy dropped here must leave a mirror
        // before the acknowledgement that lets its home grant a write goes out.
        if let copies = takeLocalCopyChanges() { effects.append(copies) }
        effects.append(contentsOf: out)
        out.removeAll(keepingCapacity: true)
    }

    func log(_ level: NodeLogLine.Level, _ message: String, _ fields: [String: String] = [:]) {
        out.append(.log(NodeLogLine(level, message, fields.sorted { $0.key < $1.key })))
    }

    func token() -> UInt64 {
        defer { nextToken &+= 1 }
        return nextToken
    }

    /// Answers a request: a client ticket here, or the peer that forwarded it.
    func reply(_ to: ReplyTo, _ answer: ClientReply) {
        switch to {
        case let .client(ticket): out.append(.reply(ticket, answer))
        case let .peer(origin, callID):
            inbound = max(0, inbound - 1)
            respond(to: origin, callID: callID, .client(answer))
        case let .local(part): queuePartAnswered(part, answer)
        case let .deadLetterMove(id, offsets): deadLettersPublished(id, offsets: offsets, answer)
        case let .redrive(id, step): redriveStepAnswered(id, step, answer)
        case .nobody: break
        }
    }

    var shardCount: Int { settings.placement.shardCount }

    func shard(forKey key: String) -> ShardID { ShardMap.shard(of: Token(key: key), shardCount: shardCount) }
}

/// Counts of what the node did (exported as metrics by the runtime).
public struct NodeCounters: Sendable, Equatable {
    public init() {}
    public var clientRequests: UInt64 = 0
    public var forwarded: UInt64 = 0
    public var peerRequestsServed: UInt64 = 0
    public var peerRefusals: UInt64 = 0
    public var callsTimedOut: UInt64 = 0
    public var malformedFrames: UInt64 = 0
    public var expiryProposals: UInt64 = 0
    public var timeoutProposals: UInt64 = 0
    public var deadlockVictims: UInt64 = 0
    /// Wait-for reports sent to the deadlock detector on another node.
    public var deadlockReportsSent: UInt64 = 0
    public var dropsSent: UInt64 = 0
    public var keepAlivesConfirmed: UInt64 = 0
    /// Shard batches to a peer without a live address, and frames too large to send, held
    /// back and reported unreachable instead (`Node.frames(for:maxFrameBytes:)`).
    public var shardFramesUndelivered: UInt64 = 0
    /// Shard batches dropped while this node waited to found the shard set with others.
    public var batchesBeforeFounding: UInt64 = 0
    /// Membership packets that did not decode (or shard frames sent as datagrams).
    public var malformedPackets: UInt64 = 0
    /// Join attempts that no seed answered in time (the membership retries with backoff).
    public var joinRetries: UInt64 = 0
    /// Bytes of membership packets received from this node's cluster, by message kind.
    public var packetBytesReceived: [MessageKind: UInt64] = [:]
}
