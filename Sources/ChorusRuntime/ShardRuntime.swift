import ChorusBase
import ChorusNode
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Foundation

/// What the agent keeps to drive its `Node`'s shard host: the `ShardStore` in
/// `<data-dir>/shards` (or a temporary directory), and the client exchanges waiting for the
/// node's replies.
///
/// Invariants: only the loop thread touches it; a batch goes out only after the fsync that
/// covers it (`ShardStore.drive`); a storage failure stops the agent (exit 1) because the log
/// refuses every later call and the node must recover from disk; every ticket in `waiting`
/// was handed to the node and is answered once.
final class ShardRuntime {
    let store: ShardStore
    let node: Node
    let directory: String
    let ephemeral: Bool
    var driveScheduled = false
    /// The node's next tick, armed on the loop (nil while it runs).
    var tickTimer: TimerID?
    var tickAt: Instant?
    /// Set while a graceful leave waits for this node's replicas to move elsewhere.
    var drainDeadline: Instant?
    /// Client exchanges (HTTP, RESP) waiting for the node's reply, and how to answer it.
    var waiting: [ClientTicket: (answer: (ClientReply) -> Void, started: Instant)] = [:]
    var nextTicket: UInt64 = 1

    /// Opens (recovering) the store and restarts every stored group. Without a data
    /// directory the shards live in a fresh temporary directory (a new Raft identity each
    /// start, so a restart is a new member, never a voter that forgot its log).
    /// With `queueBodiesOnDisk`, queue bodies live in `<directory>/bodies` (`ShardBodyStores`).
    init(dataDirectory: String?, name: String, settings: NodeSettings, life: UInt64, queueBodiesOnDisk: Bool = true) throws {
        if let dataDirectory {
            directory = dataDirectory + "/shards"
            ephemeral = false
        } else {
            let safe = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "_" }.prefix(64))
            directory = NSTemporaryDirectory() + "chorus-\(safe)-\(UInt32.random(in: .min ... .max))"
            ephemeral = true
        }
        store = try ShardStore(directory: directory, fileSystem: PosixFileSystem())
        let id = try store.loadOrCreateIdentity { UInt64.random(in: 1 ... .max) }
        let bodies: ShardBodyStores = queueBodiesOnDisk ? .disk(root: directory + "/bodies", fileSystem: PosixFileSystem()) : .memory
        let host = try ShardHost<ShardState>(id: id, settings: settings.shards, seed: UInt64.random(in: .min ... .max),
                                             epoch: try store.loadEpoch(), restoring: try store.loadGroups(), bodyStores: bodies)
        node = try Node(name: name, host: host, settings: settings, seed: UInt64.random(in: .min ... .max), life: life)
    }

    var id: NodeID { node.id }

    /// Founds the shard set when this node starts a new cluster with no shards stored.
    func bootstrapIfFounder() throws -> Bool {
        guard node.host.epoch == nil, node.host.order.isEmpty else { return false }
        try node.host.bootstrap(shards: (0..<node.settings.placement.shardCount).map { ShardID($0) }, epoch: UInt64.random(in: 1 ... .max))
        return true
    }

    func ticket() -> ClientTicket {
        defer { nextTicket &+= 1 }
        return ClientTicket(nextTicket)
    }

    func close() {
        store.close()
        if ephemeral { try? FileManager.default.removeItem(atPath: directory) }
    }
}
