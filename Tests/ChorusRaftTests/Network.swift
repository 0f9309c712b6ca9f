import ChorusRaft

/// A tiny in-process network for scenario tests, etcd style: every node's `Ready` is
/// processed in full (persist, send, apply, advance) and messages are delivered in FIFO
/// order until the network is quiet. Links can be cut, nodes isolated, message kinds
/// dropped, and everything recovered.
final class Network {
    struct Peer {
        var node: RaftNode?
        var storage: MemoryStorage
        /// Everything applied, in order (entries and snapshot restores).
        var applied: [Entry] = []
        var restoredSnapshots: [SnapshotMetadata] = []
        var readStates: [ReadState] = []
    }

    private(set) var peers: [NodeID: Peer] = [:]
    /// Node ids in order; every walk uses this, never the dictionary's order.
    private(set) var ids: [NodeID] = []
    let settings: RaftSettings
    private var cuts: Set<Pair> = []
    private var droppedKinds: Set<String> = []
    private var queue: [Message] = []
    /// Every message delivered, for tests that look at the traffic.
    private(set) var delivered: [Message] = []
    /// When set, messages for which it returns false are held back in `held`.
    var filter: ((Message) -> Bool)?
    private(set) var held: [Message] = []
    /// When set, every message passes through it before delivery (to model a partial loss).
    var rewrite: ((Message) -> Message)?

    struct Pair: Hashable { var a: NodeID; var b: NodeID }

    init(_ count: Int, settings: RaftSettings = RaftSettings(), learners: [UInt64] = []) {
        self.settings = settings
        let voters = (1...count).map { NodeID(UInt64($0)) }
        let configuration = Configuration(voters: voters, learners: learners.map(NodeID.init))
        for id in configuration.members { add(id, configuration: configuration) }
    }

    /// Adds a node that starts from `configuration` (`.empty` for a node joining later).
    func add(_ id: NodeID, configuration: Configuration) {
        let storage = MemoryStorage(configuration: configuration)
        peers[id] = Peer(node: try! RaftNode(id: id, settings: settings, seed: id.value, restoring: storage.persisted), storage: storage)
        ids = (ids + [id]).sorted()
    }

    /// Adds a node restored from a hand-made persisted state (paper scenarios).
    func add(_ id: NodeID, restoring state: PersistedState) {
        var storage = MemoryStorage(configuration: state.snapshot.metadata.configuration)
        storage.hardState = state.hardState
        storage.snapshot = state.snapshot
        storage.entries = state.entries
        peers[id] = Peer(node: try! RaftNode(id: id, settings: settings, seed: id.value, restoring: state), storage: storage)
        if !ids.contains(id) { ids = (ids + [id]).sorted() }
    }

    subscript(_ id: UInt64) -> RaftNode {
        get { peers[NodeID(id)]!.node! }
        set { peers[NodeID(id)]!.node = newValue }
    }
    func peer(_ id: UInt64) -> Peer { peers[NodeID(id)]! }

    // MARK: faults

    func cut(_ a: UInt64, _ b: UInt64) {
        cuts.insert(Pair(a: NodeID(a), b: NodeID(b)))
        cuts.insert(Pair(a: NodeID(b), b: NodeID(a)))
    }
    func isolate(_ a: UInt64) { for b in ids where b != NodeID(a) { cut(a, b.value) } }
    func drop(_ kind: String) { droppedKinds.insert(kind) }
    func recover() { cuts = []; droppedKinds = []; filter = nil; rewrite = nil }

    /// Drops the node's in-memory state; it keeps only what it persisted.
    func crash(_ id: UInt64) { peers[NodeID(id)]!.node = nil; queue.removeAll { $0.to == NodeID(id) } }
    func restart(_ id: UInt64) {
        let nid = NodeID(id)
        var p = peers[nid]!
        p.node = try! RaftNode(id: nid, settings: settings, seed: id &* 7919, restoring: p.storage.persisted)
        p.applied = p.applied.filter { $0.index <= p.storage.snapshot.metadata.index }
        peers[nid] = p
    }

    // MARK: driving

    func tick(_ id: UInt64, _ times: Int = 1) {
        for _ in 0..<times {
            guard peers[NodeID(id)]?.node != nil else { return }
            self[id].tick()
            flush()
        }
    }
    func tickAll(_ times: Int = 1) {
        for _ in 0..<times { for id in ids where peers[id]?.node != nil { peers[id]!.node!.tick() }; flush() }
    }

    /// The application snapshots its state at the applied index; the driver saves it.
    @discardableResult
    func compact(_ id: UInt64) throws(RaftError) -> Snapshot {
        let applied = self[id].log.applied
        let snapshot = try self[id].compact(through: applied, data: Array("image@\(applied)".utf8))
        peers[NodeID(id)]!.storage.saveCompaction(snapshot)
        return snapshot
    }

    func campaign(_ id: UInt64) { self[id].campaign(); flush() }

    @discardableResult
    func propose(_ id: UInt64, _ text: String) throws(RaftError) -> EntryID {
        let e = try self[id].propose(Array(text.utf8))
        flush()
        return e
    }

    /// Processes every pending `Ready` and delivers messages until nothing moves.
    func flush() {
        var rounds = 0
        while true {
            rounds += 1
            precondition(rounds < 1_000_000, "network did not settle")
            for id in ids { processReady(id) }
            if queue.isEmpty {
                if ids.allSatisfy({ peers[$0]?.node?.hasReady != true }) { return }
                continue
            }
            let m = queue.removeFirst()
            deliver(m)
        }
    }

    /// Delivers the held-back messages (in order), then settles.
    func releaseHeld() {
        let h = held
        held = []
        queue.append(contentsOf: h)
        flush()
    }

    private func deliver(_ m: Message) {
        let m = rewrite?(m) ?? m
        if cuts.contains(Pair(a: m.from, b: m.to)) || droppedKinds.contains(m.body.kind) { return }
        if let filter, !filter(m) { held.append(m); return }
        guard peers[m.to]?.node != nil else { return }
        delivered.append(m)
        peers[m.to]!.node!.step(m)
    }

    private func processReady(_ id: NodeID) {
        guard var p = peers[id], var node = p.node, node.hasReady else { return }
        let ready = node.ready()
        queue.append(contentsOf: ready.earlyMessages)
        p.storage.persist(ready)
        queue.append(contentsOf: ready.messages)
        if let s = ready.snapshot {
            p.applied = []
            p.restoredSnapshots.append(s.metadata)
        }
        p.applied.append(contentsOf: ready.committedEntries)
        p.readStates.append(contentsOf: ready.readStates)
        node.advance(ready)
        p.node = node
        peers[id] = p
    }

    // MARK: views

    var leaders: [NodeID] { ids.filter { peers[$0]?.node?.role == .leader } }
    func commands(_ id: UInt64) -> [String] {
        peer(id).applied.compactMap { if case let .command(b) = $0.payload { return String(decoding: b, as: UTF8.self) }; return nil }
    }
    /// The node's log entries (after its snapshot) as (index, term) pairs.
    func logIDs(_ id: UInt64) -> [EntryID] {
        let log = self[id].log
        return (log.entries(from: log.firstIndex, through: log.lastIndex) ?? []).map(\.id)
    }
}

extension MessageBody {
    /// A short name per message kind, for `Network.drop`.
    var kind: String {
        switch self {
        case let .voteRequest(r): return r.preVote ? "preVote" : "vote"
        case let .voteResponse(r): return r.preVote ? "preVoteResp" : "voteResp"
        case .appendEntries: return "app"
        case .appendResponse: return "appResp"
        case .heartbeat: return "heartbeat"
        case .heartbeatResponse: return "heartbeatResp"
        case .installSnapshot: return "snap"
        case .timeoutNow: return "timeoutNow"
        case .readIndex: return "readIndex"
        case .readIndexResponse: return "readIndexResp"
        }
    }
}
