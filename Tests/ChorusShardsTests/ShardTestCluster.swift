import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import XCTest

/// A few `ShardHost`s in one process, each persisting through its own `ShardStore` on its own
/// `MemoryFileSystem`, joined by a deterministic network: batches travel encoded, in the
/// order they were sent, one at a time (etcd's tiny in-process network with `isolate` and
/// `recover`). Time passes only through `tick`.
///
/// Invariants: same calls ⇒ same run (every queue is an array; nothing follows a `Set` or
/// `Dictionary` order); a host only ever sends what its store synced first (`ShardStore.drive`).
final class ShardTestCluster {
    struct HarnessError: Error, CustomStringConvertible {
        var description: String
    }

    final class Member {
        let id: NodeID
        var fileSystem = MemoryFileSystem()
        /// When set, the member keeps its data in this real directory (`PosixFileSystem`)
        /// instead of memory, and `crash` is a kill -9: what was written stays.
        var directory: String?
        var store: ShardStore?
        var host: ShardHost<ShardState>?
        /// Every reply the host gave, in order.
        var replies: [ShardReply] = []
        /// The batches of each flush (one `ready()`), in order.
        var flushes: [[ShardBatch]] = []
        var starts = 0
        init(id: NodeID) { self.id = id }
    }

    let settings: ShardHostSettings
    private(set) var members: [Member] = []
    /// Encoded batches on the wire, oldest first.
    private(set) var inFlight: [(to: NodeID, bytes: [UInt8])] = []
    /// Nodes whose traffic (both ways) is dropped.
    private var isolatedNodes: [NodeID] = []
    /// Network hops per tick: nil delivers until the network is quiet (every exchange within
    /// a tick); `k` delivers only `k` rounds, each the batches in flight at its start, so a
    /// round trip takes ticks and bulk transfers are throttled.
    var roundsPerTick: Int?
    /// The stream's frame limit, as a transport enforces it: with it set, batches travel as
    /// `ShardBatchCodec.frames`, and a frame above it is refused and reported to the sending
    /// host (`reportUnreachable(peer:)`). `splitsBatches = false` sends each batch as one frame
    /// instead, as a driver that does not split would.
    var maxFrameBytes: Int?
    var splitsBatches = true
    /// Queue bodies in each member's body logs (`<data>/shards/bodies` on its file system)
    /// instead of memory, for members started after it is set.
    var bodiesOnDisk = false
    /// The shared log's settings on a member without a real directory (small segments let a
    /// test cross many of them).
    var logSettings = SegmentLogSettings()
    private(set) var framesRefused = 0
    /// Every batch sent and every reply given, in order: same calls ⇒ same digest.
    private(set) var trace = TraceDigest()
    private(set) var batchesDelivered = 0
    private(set) var batchesDropped = 0
    private let seed: UInt64

    /// `nodes` members with ids 1...nodes, all started (empty, no shard set yet).
    init(nodes: Int, settings: ShardHostSettings = ShardHostSettings(), seed: UInt64 = 1) throws {
        self.settings = settings
        self.seed = seed
        for i in 0..<nodes { try add(NodeID(UInt64(i + 1))) }
    }

    func member(_ id: NodeID) -> Member {
        guard let m = members.first(where: { $0.id == id }) else { preconditionFailure("no member \(id)") }
        return m
    }

    func host(_ id: NodeID) -> ShardHost<ShardState> {
        guard let h = member(id).host else { preconditionFailure("\(id) is not running") }
        return h
    }

    /// Adds (and starts) a new member.
    func add(_ id: NodeID, directory: String? = nil) throws {
        let m = Member(id: id)
        m.directory = directory
        members.append(m)
        try start(id)
    }

    /// Starts `id` from what its file system holds, as a restarted agent does.
    func start(_ id: NodeID) throws {
        let m = member(id)
        let store = try m.directory.map { try ShardStore(directory: $0, fileSystem: PosixFileSystem()) }
            ?? ShardStore(directory: "/data", fileSystem: m.fileSystem, settings: logSettings)
        m.starts += 1
        let bodies: ShardBodyStores = !bodiesOnDisk ? .memory
            : .disk(root: (m.directory ?? "/data") + "/bodies", fileSystem: m.directory == nil ? m.fileSystem : PosixFileSystem())
        let host = try ShardHost<ShardState>(id: id, settings: settings, seed: seed &* 1_000 &+ id.value &* 10 &+ UInt64(m.starts),
                                             epoch: try store.loadEpoch(), restoring: try store.loadGroups(), bodyStores: bodies)
        m.store = store
        m.host = host
        try drive(m)
    }

    /// Power failure: the host is gone and its disk keeps only what was synced.
    func crash(_ id: NodeID) {
        let m = member(id)
        m.host = nil
        if m.directory == nil { m.fileSystem.crash() } else { m.store?.close() }
        m.store = nil
        inFlight.removeAll { $0.to == id }
    }

    func bootstrap(on id: NodeID, shards: Int, epoch: UInt64 = 0xC0FFEE) throws {
        try withHost(id) { try $0.bootstrap(shards: (0..<shards).map { ShardID($0) }, epoch: epoch) }
    }

    /// Runs `body` on `id`'s host, then drives it (persist, sync, send); nothing is delivered.
    @discardableResult
    func withHost<T>(_ id: NodeID, _ body: (inout ShardHost<ShardState>) throws -> T) throws -> T {
        let m = member(id)
        guard var host = m.host else { throw HarnessError(description: "\(id) is not running") }
        m.host = nil // one copy while `body` runs: no copy-on-write of large images
        let result: T
        do {
            result = try body(&host)
        } catch {
            m.host = host
            throw error
        }
        m.host = host
        try drive(m)
        return result
    }

    func setTargets(_ targets: [ShardID: [NodeID]]) throws {
        for m in members where m.host != nil { try withHost(m.id) { $0.setTargets(targets) } }
    }

    func isolate(_ id: NodeID) { isolatedNodes.append(id) }
    func recover() { isolatedNodes.removeAll() }

    // MARK: time and network

    /// `n` ticks: every running host ticks (in id order) and is driven, then the network is
    /// drained.
    func tick(_ n: Int = 1) throws {
        for _ in 0..<n {
            for m in members where m.host != nil {
                m.host?.tick()
                try drive(m)
            }
            if let rounds = roundsPerTick {
                for _ in 0..<rounds { try deliver(count: inFlight.count) }
            } else {
                try deliverAll()
            }
        }
    }

    /// Ticks until `done()` holds (checked before each tick); false if `maxTicks` pass first.
    func run(maxTicks: Int, until done: () -> Bool) throws -> Bool {
        for _ in 0..<maxTicks {
            if done() { return true }
            try tick()
        }
        return done()
    }

    /// Delivers batches in send order until none is left (what a delivery sends joins the end).
    func deliverAll() throws {
        var budget = 1_000_000
        while !inFlight.isEmpty {
            budget -= 1
            guard budget > 0 else { throw HarnessError(description: "network never went quiet") }
            try deliver(count: 1)
        }
    }

    /// Delivers the `count` oldest batches in flight.
    func deliver(count: Int) throws {
        for _ in 0..<min(count, inFlight.count) {
            let (to, bytes) = inFlight.removeFirst()
            let m = member(to)
            guard m.host != nil else { batchesDropped += 1; continue }
            let batch: ShardBatch
            do { batch = try ShardBatchCodec.decode(bytes) } catch {
                throw HarnessError(description: "a batch the codec encoded did not decode: \(error)")
            }
            batchesDelivered += 1
            try withHost(to) { $0.receive(batch) }
        }
    }

    /// Drives `m`'s host through `ShardStore.drive`: each `ready()` is one flush.
    func drive(_ m: Member) throws {
        guard var host = m.host, let store = m.store else { return }
        m.host = nil
        var sent: [[ShardBatch]] = []
        let replies: [ShardReply]
        do {
            replies = try store.drive(&host) { sent.append($0) }
        } catch {
            m.host = host
            throw error
        }
        m.host = host
        m.replies += replies
        m.flushes += sent
        for batch in sent.joined() {
            if isolatedNodes.contains(batch.from) || isolatedNodes.contains(batch.to) || !members.contains(where: { $0.id == batch.to }) {
                batchesDropped += 1
                continue
            }
            let frames = maxFrameBytes.map { splitsBatches ? ShardBatchCodec.frames(batch, maxFrameBytes: $0) : [ShardBatchCodec.encode(batch)] }
                ?? [ShardBatchCodec.encode(batch)]
            for encoded in frames {
                if let limit = maxFrameBytes, encoded.count > limit {
                    framesRefused += 1
                    m.host?.reportUnreachable(peer: batch.to)
                    continue
                }
                trace.add(encoded)
                inFlight.append((batch.to, encoded))
            }
        }
        for r in replies { trace.add(Array("\(m.id) \(r.shard) \(r.token) \(r.outcome)".utf8)) }
    }

    // MARK: views

    var running: [Member] { members.filter { $0.host != nil } }

    /// The node that leads `shard` in the highest term any running host knows.
    func leader(of shard: ShardID) -> NodeID? {
        running.compactMap { m -> (NodeID, Term)? in
            guard let s = m.host?.status(of: shard), s.role == .leader else { return nil }
            return (m.id, s.term)
        }.max { $0.1 < $1.1 }?.0
    }

    /// True when every running host that hosts `shard` has these voters and no learners, and
    /// exactly the `voters` host it.
    func isPlaced(_ shard: ShardID, voters: [NodeID]) -> Bool {
        let hosting = running.filter { $0.host?.status(of: shard) != nil }.map(\.id)
        guard hosting == voters.sorted() else { return false }
        return hosting.allSatisfy { id in
            guard let s = host(id).status(of: shard) else { return false }
            return s.voters == voters.sorted() && s.learners.isEmpty && s.applied == s.commit
        }
    }

    func reply(_ id: NodeID, token: UInt64) -> ShardReply? { member(id).replies.first { $0.token == token } }
}

extension ShardTestCluster {
    /// A 3-node cluster whose `shards` shards all sit on voters {1, 2, 3}, each led by node 1.
    static func placed(shards: Int, settings: ShardHostSettings = ShardHostSettings(), seed: UInt64 = 1,
                       file: StaticString = #filePath, line: UInt = #line) throws -> ShardTestCluster {
        let c = try ShardTestCluster(nodes: 3, settings: settings, seed: seed)
        try c.bootstrap(on: NodeID(1), shards: shards)
        let all = [NodeID(1), NodeID(2), NodeID(3)]
        try c.setTargets(Dictionary(uniqueKeysWithValues: (0..<shards).map { (ShardID($0), all) }))
        let placed = try c.run(maxTicks: 300) { (0..<shards).allSatisfy { c.isPlaced(ShardID($0), voters: all) } }
        XCTAssertTrue(placed, "every shard reaches voters {1,2,3}", file: file, line: line)
        return c
    }
}

let n1 = NodeID(1), n2 = NodeID(2), n3 = NodeID(3), n4 = NodeID(4), n5 = NodeID(5)

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func put(_ key: String, _ value: String) -> [UInt8] { ShardCommand.put(key: bytes(key), value: bytes(value)).encoded() }

/// FNV-1a over a sequence of byte strings (each length-prefixed), for comparing runs.
struct TraceDigest: Equatable, CustomStringConvertible {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    private(set) var items = 0

    mutating func add(_ bytes: [UInt8]) {
        items += 1
        for b in withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes {
            value = (value ^ UInt64(b)) &* 0x100_0000_01B3
        }
    }

    var description: String { String(value, radix: 16) + "/\(items)" }
}
