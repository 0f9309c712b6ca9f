import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusRing
import ChorusShards
import ChorusSeal
import ChorusWire
import Synchronization

/// A running Chorus node: its `Node` (membership, ring, shards and services) driven by real
/// sockets, a monotonic clock, files and an HTTP API. The agent decides nothing about
/// membership: it seals and unseals packets, carries out the node's effects, and keeps the
/// incarnation file.
///
/// Invariants:
/// - One event loop thread owns the `Node`, the sockets, the API server and every mutable
///   field below; other threads reach the agent only through `loop.execute` (`requestLeave`)
///   or after the loop stopped (`stop`).
/// - After every membership input (datagram, frame, API call, timer) the node's effects are
///   carried out in order and a loop timer is armed at or before `node.nextDeadline`; so the
///   membership's timers are never late by more than a loop turn.
/// - With a data directory, the incarnation on disk is never below one any packet carried:
///   the node hands out `.persistIncarnation` before the packets of the same input, and the
///   agent saves it (fsync) before carrying out the next effect; a save that failed is retried
///   after every input. So a restart always starts above every incarnation of its previous life.
/// - Bad input (undecodable, oversized or foreign packets, broken streams, malformed HTTP)
///   is dropped, counted and logged; it never stops the loop.
public final class Agent: @unchecked Sendable {
    public static let version = "0.1.0"

    public let settings: AgentSettings
    public let log: Log
    public let loop: EventLoop
    /// The bound gossip/stream address (with the real port when the settings said 0).
    public let gossipEndpoint: Endpoint
    /// The address other members reach this node at.
    public let advertisedEndpoint: Endpoint
    /// The bound API address (with the real port when the settings said 0).
    public private(set) var apiEndpoint: Endpoint

    /// The node's membership (started in `init`, so always there).
    var membership: Membership {
        guard let m = shards.node.membership else { preconditionFailure("the agent starts its node's membership in init") }
        return m
    }
    let udp: UDPSocket
    let listener: TCPListener
    let streams: PeerStreams
    let transportSeal: TransportSeal
    var api: HTTPServer?
    var resp: RESPServer?
    let metrics = AgentMetrics()
    let stateFile: NodeStateFile?
    /// The hold on the data directory, kept until the agent shuts down.
    let directoryLock: DataDirectoryLock?
    var persistedIncarnation: Incarnation
    /// An incarnation the node asked to persist whose save failed (retried after every input).
    var unsavedIncarnation: Incarnation?
    let startedAt: Instant

    /// The ring of the view as last computed for `GET /v1/ring` (see `currentRing`).
    var ringCache: RingCache?
    /// The node core and its shard store (see `Agent+Shards.swift`).
    let shards: ShardRuntime
    let shardMetrics: ShardMetrics
    let queueMetrics: QueueMetrics
    let lockMetrics: LockMetrics
    let cacheMetrics: CacheMetricSeries
    /// The node's readable cache copies for a program that embeds this agent: a read from
    /// any thread is a function call (`localCacheValue(of:)`).
    public let localCacheReads = LocalCacheReads()
    /// This node founded the shard set at this start.
    let shardsFounded: Bool

    var tickTimer: TimerID?
    var tickAt: Instant?

    var seedRetryDelay: Interval = .seconds(1)
    var joinWaiters: [JoinWaiter] = []
    var leaveWaiters: [HTTPResponder] = []
    var signalsSeen = 0
    /// Set once the agent decided to exit; the loop stops shortly after.
    var exiting = false
    private let exitCode = Atomic<Int32>(0)
    private let shardsClosed = Mutex(false)

    /// An API join waiting for a seed's answer.
    struct JoinWaiter {
        let responder: HTTPResponder
        let addresses: [String]
        let unresolved: [String]
        let timer: TimerID
    }

    /// Binds every socket, loads and bumps the persisted incarnation and builds the
    /// membership core; nothing is sent until `run` or `start`.
    public init(settings: AgentSettings, log: Log) throws(AgentStartError) {
        try settings.validate()
        self.settings = settings
        self.log = log
        do { loop = try EventLoop() } catch { throw .eventLoop(error) }
        (udp, listener) = try Agent.bindGossip(settings.bind, maxDatagramBytes: settings.maxDatagramBytes)
        gossipEndpoint = udp.localEndpoint
        advertisedEndpoint = try Agent.advertiseAddress(settings, bound: udp.localEndpoint)

        var incarnation: Incarnation = 0
        if let directory = settings.dataDirectory {
            let file = try NodeStateFile(directory: directory)
            do { directoryLock = try DataDirectoryLock(directory: directory) } catch {
                throw .dataDirectory(path: directory, reason: error.description)
            }
            var previous: NodeStateFile.Contents?
            do { previous = try file.load() } catch {
                log.warn("ignoring unreadable node state; starting from incarnation 0", ["error": error.description])
            }
            if let previous {
                if previous.name == settings.name {
                    incarnation = previous.incarnation &+ 1
                } else {
                    log.warn("node state belongs to another name; starting from incarnation 0",
                             ["file": file.path, "stored_name": previous.name])
                }
            }
            try file.save(.init(name: settings.name, incarnation: incarnation))
            stateFile = file
        } else {
            stateFile = nil
            directoryLock = nil
        }
        persistedIncarnation = incarnation

        let directory = settings.dataDirectory
        do {
            // The cache tells a restarted node from its last life by the membership incarnation,
            // which grows with every start from a data directory (without one, the Raft identity is new).
            shards = try ShardRuntime(dataDirectory: directory, name: settings.name, settings: settings.node, life: UInt64(incarnation),
                                      queueBodiesOnDisk: settings.queueBodiesOnDisk)
        } catch {
            throw .dataDirectory(path: (directory ?? "(temporary)") + "/shards", reason: "cannot open shard storage: \(error)")
        }
        shardMetrics = ShardMetrics(registry: metrics.registry)
        queueMetrics = QueueMetrics(registry: metrics.registry)
        lockMetrics = LockMetrics(registry: metrics.registry)
        cacheMetrics = CacheMetricSeries(registry: metrics.registry)
        if settings.seeds.isEmpty && settings.bootstrapExpect == nil {
            // The first node of a new cluster founds the shard set (before its tags are made,
            // so they announce it from the start). With --bootstrap-expect the node founds
            // with the others once they have joined (`Node+Founding.swift`).
            do { shardsFounded = try shards.bootstrapIfFounder() } catch {
                throw .dataDirectory(path: shards.directory, reason: "cannot found the shard set: \(error)")
            }
        } else {
            shardsFounded = false
        }

        let now = loop.now()
        startedAt = now
        apiEndpoint = settings.api
        let membershipSeed = UInt64.random(in: .min ... .max)
        let shardsNow = shards, advertised = advertisedEndpoint
        func startMembership(api: Endpoint) throws(AgentStartError) {
            let start = MembershipStart(address: advertised, api: api, tags: settings.tags, incarnation: incarnation,
                                        settings: settings.membership, seed: membershipSeed)
            do { try shardsNow.node.startMembership(start, at: NodeTime(now: now, wallMillis: WallClock.unixMillis())) } catch {
                throw .invalidSetting(error.message)
            }
        }
        try startMembership(api: settings.api)

        var streamSettings = TCPSettings()
        streamSettings.idleTimeout = settings.outboundIdleTimeout
        streamSettings.maxFrameBytes = Frame.defaultMaxBytes + Seal.overhead
        streams = PeerStreams(loop: loop, outboundSettings: streamSettings,
                              maxOutbound: settings.maxOutboundStreams, maxInbound: settings.maxInboundStreams)
        transportSeal = TransportSeal(keyring: settings.keyring, mode: settings.sealMode, cluster: settings.clusterName,
                                      keyringPath: settings.keyringPath, log: log)
        streams.seal = transportSeal

        var apiSettings = HTTPServerSettings()
        // A queue publish carries messages of up to 1 MiB as JSON text or base64 (4/3 larger).
        apiSettings.maxBodyBytes = 2 << 20
        // Lock clients hold a connection while their acquire waits, and every forwarded request
        // holds one on the leader while it is served: room for many of both.
        apiSettings.maxConnections = 1024
        let server: HTTPServer
        do {
            server = try HTTPServer(bind: settings.api, on: loop, settings: apiSettings, handler: makeRouter().handler)
        } catch {
            throw .cannotBind(role: "the HTTP API", error)
        }
        api = server
        if let endpoint = settings.resp {
            do {
                resp = try RESPServer(bind: endpoint, on: loop, isRead: Agent.isRESPRead) { [unowned self] arguments, session, answer in
                    self.serveRESP(arguments, session: session, answer)
                }
            } catch {
                throw .cannotBind(role: "the RESP listener", error)
            }
        }
        apiEndpoint = server.localEndpoint
        // Nothing was sent yet: restart the membership so its tags carry the API address bound.
        if apiEndpoint != settings.api { try startMembership(api: apiEndpoint) }
        wire(server)
    }

    /// Connects the sockets' callbacks to the agent (before the loop runs).
    private func wire(_ server: HTTPServer) {
        loop.register(fd: udp.fd, events: .readable) { [unowned self] _ in self.readDatagrams() }
        var inbound = TCPSettings()
        inbound.idleTimeout = .seconds(60)
        inbound.maxFrameBytes = Frame.defaultMaxBytes + Seal.overhead
        listener.start(on: loop, settings: inbound) { [unowned self] connection in self.streams.accept(connection) }
        streams.onFrame = { [unowned self] payload, peer in self.receiveNodeFrame(payload, from: peer) }
        streams.onProblem = { [unowned self] problem in self.report(problem) }
        server.onRefused = { [unowned self] status, code, peer in
            self.metrics.httpRefused(code: code)
            self.log.debug("refused HTTP request", ["peer": peer, "status": status, "code": code])
        }
    }

    // MARK: life cycle

    /// Runs the agent on the calling thread until it exits (after a graceful leave, or
    /// `stop`); returns the process exit status (0 after a graceful leave).
    public func run() -> Int32 {
        loop.execute { [self] in self.begin() }
        loop.run()
        shutdown()
        return exitStatus
    }

    /// Runs the agent on a thread of its own and returns at once (tests, embedding). Call
    /// `stop()` at the end, also after a leave ended the loop, to close the sockets.
    public func start() throws(EventLoopError) {
        loop.execute { [self] in self.begin() }
        try loop.start()
    }

    /// Stops at once, without leaving (as if the process died), and closes every socket.
    /// Call from outside the loop thread; calling it again does nothing more.
    public func stop() {
        loop.stop()
        shutdown()
    }

    /// True once the agent finished (left, or stopped).
    public var isStopped: Bool { loop.isStopped }

    /// The exit status decided so far: 0 unless the leave was cut short.
    public var exitStatus: Int32 { exitCode.load(ordering: .acquiring) }

    /// Starts a graceful leave from any thread; the agent exits once the leave is spread.
    public func requestLeave() {
        loop.execute { [self] in self.beginLeave(reason: "requested") }
    }

    /// Handles SIGTERM/SIGINT delivered through `pipe`: the first starts a graceful leave, a
    /// second one exits at once. Call before `run`.
    public func watchSignals(_ pipe: SignalPipe) {
        pipe.watch(on: loop) { [unowned self] signal in
            self.signalsSeen += 1
            if self.signalsSeen == 1 {
                self.beginLeave(reason: signal == 15 ? "SIGTERM" : signal == 2 ? "SIGINT" : "signal \(signal)")
            } else {
                self.log.warn("second signal; exiting without finishing the leave")
                self.finish(status: 1)
            }
        }
    }

    private func begin() {
        log.info("agent started", ["name": settings.name, "gossip": gossipEndpoint, "advertise": advertisedEndpoint,
                                    "api": apiEndpoint, "cluster": settings.clusterName,
                                    "incarnation": membership.incarnation, "version": Agent.version])
        if settings.seeds.isEmpty {
            log.info("no seeds given; other nodes can join through this one", ["address": advertisedEndpoint])
            // A join through no one makes this node the first member of its own cluster.
            join(through: [])
        } else {
            resolveSeeds(settings.seeds)
        }
        beginShards()
        followMembership()
    }

    private func shutdown() {
        shardsClosed.withLock { closed in
            guard !closed else { return }
            closed = true
            stopNode("the agent stopped")
            localCacheReads.removeAll()
            shards.close()
            directoryLock?.release()
        }
        api?.close()
        resp?.close()
        streams.closeAll()
        listener.close()
        udp.close()
    }

    /// Decides to exit with `status`: persists, then stops the loop after a short grace so
    /// that responses just queued reach their clients.
    func finish(status: Int32) {
        guard !exiting else { return }
        exiting = true
        exitCode.store(status, ordering: .releasing)
        saveUnsavedIncarnation()
        if let t = tickTimer { loop.cancel(t) }
        tickTimer = nil
        loop.schedule(after: .milliseconds(100)) { [self] in self.loop.stop() }
    }

    // MARK: driving the membership

    /// After every membership input: retry a failed incarnation save, answer API joins,
    /// follow a leave, re-arm the membership timer.
    func followMembership() {
        saveUnsavedIncarnation()
        answerJoinWaiters()
        if shards.node.leaveSpread { followLeave() }
        if !exiting { rearm() }
    }

    /// Arms the loop timer at the node's next membership deadline unless an earlier one is
    /// pending (an early wake is harmless: it finds nothing due and re-arms).
    private func rearm() {
        guard let deadline = shards.node.nextDeadline else { return }
        if tickTimer != nil, let at = tickAt, at <= deadline { return }
        if let t = tickTimer { loop.cancel(t) }
        tickAt = deadline
        tickTimer = loop.schedule(at: deadline) { [unowned self] in
            self.tickTimer = nil
            self.tickAt = nil
            var effects: [NodeEffect] = []
            self.shards.node.wake(at: self.nodeTime, into: &effects)
            self.perform(effects)
            self.followMembership()
        }
    }

    /// Carries out `.persistIncarnation`: saved (fsynced) before the caller goes on to the
    /// next effect. A failure is logged once and retried after every input.
    func persist(incarnation: Incarnation) {
        guard let file = stateFile, incarnation != persistedIncarnation else { return }
        do {
            try file.save(.init(name: settings.name, incarnation: incarnation))
            persistedIncarnation = incarnation
            unsavedIncarnation = nil
        } catch {
            if unsavedIncarnation == nil { log.error("cannot persist incarnation", ["error": error.description]) }
            unsavedIncarnation = incarnation
        }
    }

    func saveUnsavedIncarnation() {
        if let incarnation = unsavedIncarnation { persist(incarnation: incarnation) }
    }

    // MARK: binding

    /// Binds UDP and TCP on one port; with port 0, retries until both get the same free port.
    static func bindGossip(_ endpoint: Endpoint, maxDatagramBytes: Int) throws(AgentStartError) -> (UDPSocket, TCPListener) {
        var lastError = SocketError.closed
        for _ in 0..<(endpoint.port == 0 ? 32 : 1) {
            let udp: UDPSocket
            do { udp = try UDPSocket(bind: endpoint, maxDatagramBytes: maxDatagramBytes) } catch {
                throw .cannotBind(role: "gossip (UDP)", error)
            }
            var tcpEndpoint = endpoint
            tcpEndpoint.port = udp.localEndpoint.port
            do {
                return (udp, try TCPListener(bind: tcpEndpoint))
            } catch {
                udp.close()
                lastError = error
                guard endpoint.port == 0, case .addressInUse = error else { break }
            }
        }
        throw .cannotBind(role: "peer streams (TCP)", lastError)
    }

    static func advertiseAddress(_ settings: AgentSettings, bound: Endpoint) throws(AgentStartError) -> Endpoint {
        if var advertise = settings.advertise {
            if advertise.port == 0 { advertise.port = bound.port }
            guard !InterfaceAddresses.isUnspecified(advertise.ip) else {
                throw .noAdvertiseAddress("--advertise must be a reachable address, not \(advertise.ip)")
            }
            return advertise
        }
        guard InterfaceAddresses.isUnspecified(bound.ip) else { return bound }
        guard let ip = InterfaceAddresses.advertisable(like: bound.ip) else {
            throw .noAdvertiseAddress("bound to \(bound) but found no interface address to advertise; pass --advertise HOST:PORT")
        }
        return Endpoint(ip: ip, port: bound.port)
    }
}
