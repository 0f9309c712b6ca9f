import ChorusBase
import ChorusWire
import ChorusRaft
import ChorusStorage
import Glibc

/// Settings of one `RaftDriver` process.
public struct RaftDriverSettings: Sendable {
    public var id: UInt64
    /// Every voter of the group, this node included: id → Raft (peer) endpoint.
    public var peers: [UInt64: Endpoint]
    /// Where clients connect (`RaftClientProtocol`).
    public var client: Endpoint
    /// Holds `log/` (the `SegmentLog`) and `snap/` (the `SnapshotStore`).
    public var dataDirectory: String
    public var tick: Interval = .milliseconds(10)
    public var raft = RaftSettings()
    /// Take a snapshot of the key-value map once this many entries were applied since the last.
    public var snapshotEvery: Int = 100_000
    /// Most bytes queued for one peer before messages to it are dropped (Raft resends).
    public var maxPeerQueueBytes: Int = 32 << 20
    public init(id: UInt64, peers: [UInt64: Endpoint], client: Endpoint, dataDirectory: String) {
        self.id = id; self.peers = peers; self.client = client; self.dataDirectory = dataDirectory
    }
}

/// Counters a driver keeps (read them on the loop thread).
public struct RaftDriverCounters: Sendable {
    public var ticks = 0, readies = 0, syncs = 0, proposals = 0, applied = 0
    public var peerFramesMalformed = 0, clientFramesMalformed = 0, peerMessagesDropped = 0
    public var snapshotsTaken = 0, snapshotsInstalled = 0
}

/// Runs one Raft group member as a process: one `EventLoop` thread owns the `RaftNode`, the
/// `SegmentLog`, the peer and client connections and a small key-value state machine.
///
/// Each `Ready` is handled in the order written on `ChorusRaft.Ready`: snapshot, entries and
/// hard state persisted, one `sync()` (the group commit: everything proposed during one loop
/// turn shares it), then messages sent, committed entries applied, read states served, then
/// `advance`. The driver holds no Raft logic.
///
/// Invariants: only the loop thread touches the node, storage and connections; a malformed
/// frame from a peer or client is logged, counted and dropped; a storage failure stops the
/// process (exit 1) because the log refuses every later call and the node must recover from
/// disk.
public final class RaftDriver: @unchecked Sendable {
    public let settings: RaftDriverSettings
    public let loop: EventLoop
    let logger: Log
    let nodeID: NodeID
    private var node: RaftNode
    private let storage: SegmentLog
    private let snapshots: SnapshotStore
    private static let group: UInt64 = 1

    private var kv = RaftDriverMap()
    private var appliedSinceSnapshot = 0
    public private(set) var counters = RaftDriverCounters()

    private var peerListener: TCPListener?
    private var clientListener: TCPListener?
    private var peerLinks: [NodeID: PeerLink] = [:]
    private var clients: [ObjectIdentifier: ClientSession] = [:]
    /// Proposals waiting for their entry to apply: index → (who, request id, term).
    private var pendingPuts: [UInt64: PendingPut] = [:]
    /// Reads waiting for a ReadState, by their context's counter, then for `applied ≥ index`.
    private var pendingReads: [UInt64: PendingRead] = [:]
    private var readsReady: [(index: LogIndex, read: PendingRead)] = []
    /// Contexts unique to this node and this start: a late heartbeat answer can never
    /// confirm a newer read (`ReadContextSequence`).
    private var readContexts: ReadContextSequence
    private var readyScheduled = false
    private var dirtyClients: [ClientSession] = []
    private var lastLoggedLeader: NodeID?

    private struct PendingPut { var session: ClientSession; var requestID: UInt64; var term: Term }
    private struct PendingRead { var session: ClientSession; var requestID: UInt64; var key: [UInt8] }

    /// Opens storage (recovering hard state, entries and snapshot) and builds the node.
    /// Listeners are bound by `start()`.
    public init(settings: RaftDriverSettings, logger: Log) throws {
        self.settings = settings
        self.logger = logger
        self.nodeID = NodeID(settings.id)
        var random = SystemRandomNumberGenerator()
        self.readContexts = ReadContextSequence(member: NodeID(settings.id), incarnation: random.next())
        self.loop = try EventLoop(inboxCapacity: 1 << 16)
        let fs = PosixFileSystem()
        _ = try fs.createDirectory(at: settings.dataDirectory)
        storage = try SegmentLog(directory: settings.dataDirectory + "/log", fileSystem: fs)
        snapshots = try SnapshotStore(directory: settings.dataDirectory + "/snap", fileSystem: fs)
        let configuration = Configuration(voters: settings.peers.keys.sorted().map { NodeID($0) })
        let g = RaftDriver.group
        var snapshot = ChorusRaft.Snapshot.bootstrap(configuration)
        if var s = try snapshots.load(group: g) {
            var image: [UInt8] = []
            swap(&image, &s.data)
            snapshot = try RaftCodec.decodeImage(taking: consume image, index: LogIndex(s.index), term: Term(s.term), limits: .stored)
        }
        var entries: [Entry] = []
        let first = storage.firstIndex(group: g), last = storage.lastIndex(group: g)
        if last >= first {
            var from = first
            while from <= last {
                let chunk = try storage.entries(group: g, from: from, to: last + 1, maxBytes: 64 << 20)
                for e in chunk {
                    entries.append(Entry(index: LogIndex(e.index), term: Term(e.term), payload: try RaftCodec.decodePayload(e.payload)))
                }
                from += UInt64(chunk.count)
            }
        }
        let hs = storage.hardState(group: g).map {
            ChorusRaft.HardState(term: Term($0.term), vote: NodeID(encoded: $0.vote), commit: LogIndex($0.commit))
        } ?? .initial
        node = try RaftNode(id: nodeID, settings: settings.raft, seed: UInt64(MonotonicClock.now().nanoseconds) ^ settings.id,
                            restoring: PersistedState(hardState: hs, snapshot: snapshot, entries: entries))
        try kv.restore(snapshot.data)
        logger.info("raft storage recovered", ["id": settings.id, "term": hs.term.value, "commit": hs.commit.value,
                                               "snapshot": snapshot.metadata.index.value, "entries": entries.count])
    }

    /// Binds the peer and client listeners and starts the loop thread.
    public func start() throws {
        guard let own = settings.peers[settings.id] else { throw RaftDriverError("--peers does not list this node's id \(settings.id)") }
        let peerListener = try TCPListener(bind: own)
        let clientListener = try TCPListener(bind: settings.client)
        self.peerListener = peerListener
        self.clientListener = clientListener
        var peerSettings = TCPSettings()
        peerSettings.idleTimeout = .milliseconds(10_000)
        peerListener.start(on: loop, settings: peerSettings) { [self] connection in
            connection.onFrame = { [self] frame in self.receivePeerFrame(frame, from: connection) }
            connection.onClose = { _ in }
        }
        var clientSettings = TCPSettings()
        clientSettings.idleTimeout = nil
        clientSettings.maxFrameBytes = RaftClientProtocol.maxValueBytes + RaftClientProtocol.maxKeyBytes + 64
        clientListener.start(on: loop, settings: clientSettings) { [self] connection in
            let session = ClientSession(connection: connection)
            self.clients[ObjectIdentifier(session)] = session
            connection.onFrame = { [self, unowned session] frame in self.receiveClientFrame(frame, session: session) }
            connection.onClose = { [self, unowned session] _ in
                session.closed = true
                self.clients.removeValue(forKey: ObjectIdentifier(session))
            }
        }
        for (id, endpoint) in settings.peers where id != settings.id {
            let link = PeerLink(id: NodeID(id), endpoint: endpoint)
            peerLinks[NodeID(id)] = link
            connect(link)
        }
        scheduleTick()
        scheduleStatistics()
        try loop.start()
        logger.info("raft node serving", ["id": settings.id, "raft": own.description, "client": settings.client.description])
    }

    public func stop() { loop.stop() }

    // MARK: Time

    private func scheduleTick() {
        loop.schedule(after: settings.tick) { [self] in
            self.node.tick()
            self.counters.ticks += 1
            self.scheduleReady()
            self.scheduleTick()
        }
    }

    private func scheduleStatistics() {
        loop.schedule(after: .seconds(5)) { [self] in
            let c = self.counters
            self.logger.debug("raft statistics", ["role": self.node.role.rawValue, "term": self.node.term.value,
                                                 "commit": self.node.log.committed.value, "ticks": c.ticks, "readies": c.readies, "syncs": c.syncs,
                                                 "proposals": c.proposals, "applied": c.applied, "dropped": c.peerMessagesDropped,
                                                 "malformed_peer": c.peerFramesMalformed, "malformed_client": c.clientFramesMalformed])
            self.scheduleStatistics()
        }
    }

    /// Handles the node's `Ready` at the end of this loop turn, so that everything stepped
    /// and proposed during the turn shares one `Ready` (one fsync).
    private func scheduleReady() {
        guard !readyScheduled else { return }
        readyScheduled = true
        loop.execute { [self] in self.handleReadies() }
    }

    // MARK: Peers

    private final class PeerLink {
        let id: NodeID
        let endpoint: Endpoint
        var connection: TCPConnection?
        var reconnectTimer: TimerID?
        init(id: NodeID, endpoint: Endpoint) { self.id = id; self.endpoint = endpoint }
    }

    private func connect(_ link: PeerLink) {
        var s = TCPSettings()
        s.idleTimeout = nil
        s.connectTimeout = .milliseconds(1_000)
        s.maxOutgoingBytes = max(settings.maxPeerQueueBytes, s.maxFrameBytes + 4)
        let connection = TCPConnection.connect(to: link.endpoint, on: loop, settings: s)
        link.connection = connection
        connection.onFrame = { _ in } // peers answer on their own connection to us
        connection.onClose = { [self, unowned link] _ in
            link.connection = nil
            self.node.reportUnreachable(link.id)
            link.reconnectTimer = self.loop.schedule(after: .milliseconds(50)) { [self] in
                link.reconnectTimer = nil
                self.connect(link)
            }
        }
    }

    private func send(_ message: Message) {
        guard let link = peerLinks[message.to] else {
            counters.peerMessagesDropped += 1
            return
        }
        guard let connection = link.connection else {
            // Reconnecting: the message is lost, and the node hears so, like a refused one.
            counters.peerMessagesDropped += 1
            node.reportUnreachable(link.id)
            return
        }
        do {
            try connection.send(RaftCodec.encode(message))
        } catch {
            counters.peerMessagesDropped += 1
            node.reportUnreachable(link.id)
        }
    }

    private func receivePeerFrame(_ frame: [UInt8], from connection: TCPConnection) {
        let message: Message
        do {
            message = try RaftCodec.decode(frame)
        } catch {
            counters.peerFramesMalformed += 1
            if counters.peerFramesMalformed <= 10 || counters.peerFramesMalformed % 1000 == 0 {
                logger.warn("dropped malformed raft frame", ["peer": connection.peer.description, "error": "\(error)",
                                                             "count": counters.peerFramesMalformed])
            }
            return
        }
        guard message.to == nodeID, peerLinks[message.from] != nil else {
            counters.peerFramesMalformed += 1
            return
        }
        node.step(message)
        scheduleReady()
    }

    // MARK: Clients

    private final class ClientSession {
        let connection: TCPConnection
        var closed = false
        var out = ByteWriter(capacity: 4096)
        var outCount = 0
        init(connection: TCPConnection) { self.connection = connection }
    }

    private func respond(_ session: ClientSession, _ response: RaftClientProtocol.Response) {
        guard !session.closed else { return }
        if session.outCount == 0 {
            RaftClientProtocol.beginResponses(&session.out)
            dirtyClients.append(session)
        }
        RaftClientProtocol.append(response, to: &session.out)
        session.outCount += 1
        if session.outCount == RaftClientProtocol.maxResponsesPerFrame { flush(session) }
    }

    private func flush(_ session: ClientSession) {
        guard session.outCount > 0 else { return }
        var bytes = session.out.bytes
        RaftClientProtocol.finishResponses(&bytes, count: session.outCount)
        session.out = ByteWriter(capacity: 4096)
        session.outCount = 0
        guard !session.closed else { return }
        do { try session.connection.send(bytes) } catch {
            logger.debug("client too slow; closing", ["peer": session.connection.peer.description])
            session.connection.close()
        }
    }

    private func flushClients() {
        let sessions = dirtyClients
        dirtyClients.removeAll(keepingCapacity: true)
        for s in sessions { flush(s) }
    }

    private func leaderHint() -> UInt64 { node.leader?.value ?? 0 }

    private func receiveClientFrame(_ frame: [UInt8], session: ClientSession) {
        let request: RaftClientProtocol.Request
        do {
            request = try RaftClientProtocol.decodeRequest(frame)
        } catch {
            counters.clientFramesMalformed += 1
            if counters.clientFramesMalformed <= 10 || counters.clientFramesMalformed % 1000 == 0 {
                logger.warn("dropped malformed client frame", ["peer": session.connection.peer.description, "error": "\(error)",
                                                               "count": counters.clientFramesMalformed])
            }
            return
        }
        switch request.op {
        case .status:
            let role: UInt8
            switch node.role {
            case .follower: role = 0
            case .candidate: role = 1
            case .leader: role = 2
            case .preCandidate: role = 3
            }
            let status = RaftClientProtocol.NodeStatus(pid: UInt64(getpid()), term: node.term.value, commit: node.log.committed.value,
                                                       applied: node.log.applied.value, role: role)
            respond(session, .init(id: request.id, status: .ok, leader: leaderHint(), value: RaftClientProtocol.encodeStatus(status)))
            scheduleReady() // flushes the answer at the end of the turn
        case .put:
            var w = ByteWriter(capacity: 8 + request.key.count + request.value.count)
            w.u16(UInt16(request.key.count)); w.raw(request.key); w.raw(request.value)
            do {
                let id = try node.propose(w.bytes)
                counters.proposals += 1
                pendingPuts[id.index.value] = PendingPut(session: session, requestID: request.id, term: id.term)
            } catch let error {
                respond(session, refusal(request.id, error))
            }
            scheduleReady()
        case .get:
            let context = readContexts.next()
            do {
                try node.readIndex(context: context)
                pendingReads[readContexts.issued] = PendingRead(session: session, requestID: request.id, key: request.key)
            } catch let error {
                respond(session, refusal(request.id, error))
            }
            scheduleReady()
        }
    }

    private func refusal(_ id: UInt64, _ error: RaftError) -> RaftClientProtocol.Response {
        if case let .notLeader(leader) = error {
            return .init(id: id, status: .notLeader, leader: leader?.value ?? 0)
        }
        return .init(id: id, status: .retry, leader: leaderHint())
    }

    // MARK: Ready

    private func handleReadies() {
        readyScheduled = false
        do {
            while node.hasReady {
                let ready = node.ready()
                try handle(ready)
                node.advance(ready)
            }
            try maybeSnapshot()
        } catch {
            logger.error("storage failed; the node stops and must recover from disk", ["error": "\(error)"])
            exit(1)
        }
        flushClients()
        if node.leader != lastLoggedLeader {
            lastLoggedLeader = node.leader
            logger.info("leader changed", ["leader": node.leader?.value ?? 0, "term": node.term.value])
        }
        if node.role != .leader && !pendingPuts.isEmpty && node.leader != nodeID {
            // Lost leadership: entries of the old term may never commit. Tell the clients to retry;
            // one that did commit after all is then applied twice, which a put tolerates.
            for (_, p) in pendingPuts { respond(p.session, .init(id: p.requestID, status: .retry, leader: leaderHint())) }
            pendingPuts.removeAll()
            flushClients()
        }
    }

    /// Steps 1–6 of the persistence order on `ChorusRaft.Ready`.
    private func handle(_ ready: Ready) throws {
        counters.readies += 1
        let g = RaftDriver.group
        // 1. Snapshot from the leader: durable first, then the log forgets its history.
        if let s = ready.snapshot {
            try snapshots.save(group: g, index: s.metadata.index.value, term: s.metadata.term.value,
                               parts: [RaftCodec.imagePrefix(s), s.data])
            let mark = storage.snapshotMark(group: g).index
            if storage.lastIndex(group: g) > mark { try storage.truncate(group: g, from: mark + 1) }
            try storage.markSnapshot(group: g, index: s.metadata.index.value, term: s.metadata.term.value)
            try kv.restore(s.data)
            counters.snapshotsInstalled += 1
        }
        // 2. Entries (a conflicting suffix is replaced by the log), 3. hard state.
        for e in ready.entries {
            _ = try storage.append(group: g, index: e.index.value, term: e.term.value, payload: RaftCodec.encode(e.payload))
        }
        if let hs = ready.hardState {
            try storage.setHardState(ChorusStorage.HardState(term: hs.term.value, vote: hs.vote?.value ?? 0, commit: hs.commit.value), group: g)
        }
        // A leader's AppendEntries, heartbeats and snapshots of a term already durable may
        // leave before its own fsync (Raft dissertation §10.2.1); the core picks them.
        for m in ready.earlyMessages { send(m) }
        // One fsync for all of it, before anything else is announced.
        if storage.hasUnsyncedRecords {
            _ = try storage.sync()
            counters.syncs += 1
        }
        // 4. Messages.
        for m in ready.messages { send(m) }
        // 5. Committed entries.
        for e in ready.committedEntries { apply(e) }
        // 6. Reads.
        for rs in ready.readStates {
            guard let counter = readContexts.counter(of: rs.context), let read = pendingReads.removeValue(forKey: counter) else { continue }
            readsReady.append((rs.index, read))
        }
        if !readsReady.isEmpty {
            let applied = node.log.applied
            var waiting: [(index: LogIndex, read: PendingRead)] = []
            for (index, read) in readsReady {
                // `applied` on the node moves in `advance`; entries applied just now count too.
                let reached = max(applied, ready.committedEntries.last?.index ?? .zero)
                if index <= reached {
                    if let value = kv.value(of: read.key) {
                        respond(read.session, .init(id: read.requestID, status: .ok, leader: leaderHint(), value: value))
                    } else {
                        respond(read.session, .init(id: read.requestID, status: .notFound, leader: leaderHint()))
                    }
                } else {
                    waiting.append((index, read))
                }
            }
            readsReady = waiting
        }
    }

    private func apply(_ e: Entry) {
        counters.applied += 1
        appliedSinceSnapshot += 1
        var outcome = RaftDriverMap.Outcome.applied
        if case let .command(bytes) = e.payload {
            var r = ByteReader(bytes)
            if let n = try? r.u16(), let key = try? r.raw(Int(n)) {
                outcome = kv.put(key: key, value: Array(bytes[(2 + Int(n))...]))
            }
        }
        if let p = pendingPuts.removeValue(forKey: e.index.value) {
            let status: RaftClientProtocol.Status = p.term != e.term ? .retry : outcome == .applied ? .ok : .full
            respond(p.session, .init(id: p.requestID, status: status, leader: leaderHint()))
        }
    }

    // MARK: State machine image

    /// Local compaction: snapshot saved, then the log marked, then old segments deleted.
    private func maybeSnapshot() throws {
        guard appliedSinceSnapshot >= settings.snapshotEvery else { return }
        let applied = node.log.applied
        guard applied > node.log.snapshotIndex, let s = try? node.compact(through: applied, data: kv.image()) else { return }
        appliedSinceSnapshot = 0
        try snapshots.save(group: RaftDriver.group, index: s.metadata.index.value, term: s.metadata.term.value,
                           parts: [RaftCodec.imagePrefix(s), s.data])
        try storage.markSnapshot(group: RaftDriver.group, index: s.metadata.index.value, term: s.metadata.term.value)
        _ = try storage.compact()
        counters.snapshotsTaken += 1
    }
}

public struct RaftDriverError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
