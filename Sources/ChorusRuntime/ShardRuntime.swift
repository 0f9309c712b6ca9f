import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Foundation

/// The shard groups of one agent, driven on the agent's loop thread: a `ShardHost` over a
/// `ShardStore` in `<data-dir>/shards`, ticked every `tick`, its `HostReady`s carried out
/// once per loop turn (so everything stepped in one turn shares one fsync), and the replies
/// routed back to whoever proposed.
///
/// Invariants: only the loop thread touches it; a batch goes out only after the fsync that
/// covers it (`ShardStore.drive`); a storage failure stops the agent (exit 1) because the
/// log refuses every later call and the node must recover from disk.
final class ShardRuntime {
    typealias Completion = (ShardReply.Outcome) -> Void

    let store: ShardStore
    var host: ShardHost<ShardState>
    let directory: String
    let ephemeral: Bool
    var placement: PlacementSettings
    private var completions: [UInt64: (started: Instant, done: Completion)] = [:]
    private var nextToken: UInt64 = 1
    /// Other members' shard identities, from their `chorus.raft` tags: who to send to.
    var peers: [NodeID: ShardPeer] = [:]
    /// Member name → Raft id, for every member that published one (placement targets).
    var idsByName: [String: NodeID] = [:]
    var ticks = 0
    var driveScheduled = false
    /// Set while a graceful leave waits for this node's replicas to move elsewhere.
    var drainDeadline: Instant?
    /// The placement computed from the members of this node's shard set, and their names.
    var placementMap: ShardMap?
    var placementNames: [String] = []
    /// Members seen with another shard set (logged once each).
    var foreignMembers: Set<String> = []

    /// Opens (recovering) the store and restarts every stored group. Without a data
    /// directory the shards live in a fresh temporary directory (a new Raft identity each
    /// start, so a restart is a new member, never a voter that forgot its log).
    init(dataDirectory: String?, name: String, placement: PlacementSettings, settings: ShardHostSettings) throws {
        if let dataDirectory {
            directory = dataDirectory + "/shards"
            ephemeral = false
        } else {
            let safe = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "_" }.prefix(64))
            directory = NSTemporaryDirectory() + "chorus-\(safe)-\(UInt32.random(in: .min ... .max))"
            ephemeral = true
        }
        self.placement = placement
        store = try ShardStore(directory: directory, fileSystem: PosixFileSystem())
        let id = try store.loadOrCreateIdentity { UInt64.random(in: 1 ... .max) }
        self.id = id
        host = try ShardHost(id: id, settings: settings, seed: UInt64.random(in: .min ... .max),
                             epoch: try store.loadEpoch(), restoring: try store.loadGroups())
    }

    /// This node's Raft member id (stored apart from `host`, so code running while the host
    /// is being driven — the send callback — can read it without touching the host).
    let id: NodeID

    /// A member that hosts shards, as the membership view describes it.
    struct ShardPeer {
        var name: String
        var address: Endpoint
        /// Its HTTP API address (`chorus.api` tag), where requests are forwarded.
        var api: String?
        var live: Bool
        /// It announced the same shard set as this node.
        var sameShardSet: Bool
    }

    /// Founds the shard set when this node starts a new cluster with no shards stored.
    func bootstrapIfFounder() throws -> Bool {
        guard host.epoch == nil, host.order.isEmpty else { return false }
        try host.bootstrap(shards: (0..<placement.shardCount).map { ShardID($0) }, epoch: UInt64.random(in: 1 ... .max))
        return true
    }

    func token() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    func await(_ token: UInt64, at now: Instant, _ done: @escaping Completion) {
        completions[token] = (now, done)
    }

    /// Answers every reply; returns the commit latencies observed (seconds).
    func settle(_ replies: [ShardReply], at now: Instant) -> [Double] {
        var latencies: [Double] = []
        for reply in replies {
            guard let c = completions.removeValue(forKey: reply.token) else { continue }
            if case .applied = reply.outcome { latencies.append((now - c.started).seconds) }
            c.done(reply.outcome)
        }
        return latencies
    }

    /// Answers everything still waiting (the agent is stopping).
    func failAll(_ reason: String) {
        let waiting = completions
        completions = [:]
        for token in waiting.keys.sorted() { waiting[token]?.done(.unknown(reason: reason)) }
    }

    func close() {
        store.close()
        if ephemeral { try? FileManager.default.removeItem(atPath: directory) }
    }
}
