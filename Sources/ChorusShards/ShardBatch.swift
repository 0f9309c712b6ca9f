import ChorusRaft
import ChorusRing

/// Everything one node sends another in one flush: the Raft messages of every shard group
/// the two share, in one frame on their one TCP connection.
///
/// Heartbeats are coalesced (as CockroachDB and TiKV do): a leader node with many groups
/// replicated on the same follower node sends one `(shard, term, commit)` triple per group
/// instead of a whole message each, and the follower answers with `(shard, term)` pairs.
/// Heartbeats that carry a ReadIndex context travel as ordinary messages.
///
/// Invariants: every message is from `from` to `to`; `epoch` names the shard set both
/// belong to (0 = the sender has not joined one yet), so two clusters that bootstrapped
/// their shards separately never mix groups that share a shard number.
public struct ShardBatch: Sendable, Equatable {
    /// A heartbeat without read context: the leader's term and commit index for one group.
    public struct Heartbeat: Sendable, Equatable {
        public var shard: ShardID
        public var term: Term
        public var commit: LogIndex
        public init(shard: ShardID, term: Term, commit: LogIndex) { self.shard = shard; self.term = term; self.commit = commit }
    }

    /// The answer to a coalesced heartbeat.
    public struct HeartbeatResponse: Sendable, Equatable {
        public var shard: ShardID
        public var term: Term
        public init(shard: ShardID, term: Term) { self.shard = shard; self.term = term }
    }

    /// "Your removal from this shard's group committed at `index`", from the group's leader in
    /// `term`. The leader stops replicating to a member the moment the configuration without
    /// it is appended, so without this the removed member would never learn it may go.
    public struct Removal: Sendable, Equatable {
        public var shard: ShardID
        public var term: Term
        public var index: LogIndex
        public init(shard: ShardID, term: Term, index: LogIndex) { self.shard = shard; self.term = term; self.index = index }
    }

    public var from: NodeID
    public var to: NodeID
    public var epoch: UInt64
    public var heartbeats: [Heartbeat] = []
    /// Heartbeats that also say "this group is idle: stop ticking it" (`ShardHost+Quiescence`).
    /// A follower whose term and log match quiesces too; anything else is an ordinary heartbeat.
    public var quiescentHeartbeats: [Heartbeat] = []
    public var heartbeatResponses: [HeartbeatResponse] = []
    public var messages: [(shard: ShardID, message: Message)] = []
    public var removals: [Removal] = []
    /// Snapshot images in pieces, and the answers to them (`SnapshotChunk`).
    public var snapshotChunks: [SnapshotChunk] = []
    public var snapshotAcks: [SnapshotChunkAck] = []

    public init(from: NodeID, to: NodeID, epoch: UInt64) {
        self.from = from; self.to = to; self.epoch = epoch
    }

    public var isEmpty: Bool {
        heartbeats.isEmpty && heartbeatResponses.isEmpty && messages.isEmpty && removals.isEmpty
            && quiescentHeartbeats.isEmpty && snapshotChunks.isEmpty && snapshotAcks.isEmpty
    }
    /// Raft messages carried, a coalesced heartbeat counting as one each.
    public var messageCount: Int { heartbeats.count + quiescentHeartbeats.count + heartbeatResponses.count + messages.count }

    /// Adds one group's message, coalescing it when it is a plain heartbeat or its answer.
    public mutating func append(_ m: Message, shard: ShardID) {
        switch m.body {
        case let .heartbeat(h) where h.context.isEmpty:
            heartbeats.append(Heartbeat(shard: shard, term: m.term, commit: h.commit))
        case let .heartbeatResponse(r) where r.context.isEmpty:
            heartbeatResponses.append(HeartbeatResponse(shard: shard, term: m.term))
        default:
            messages.append((shard, m))
        }
    }

    /// Every message, coalesced ones expanded back, in the order groups should see them:
    /// ordinary messages first, then heartbeats (a heartbeat's commit index may only be
    /// applied after the entries sent before it).
    public var expanded: [(shard: ShardID, message: Message)] {
        var out = messages
        out.reserveCapacity(messageCount)
        for h in heartbeats {
            out.append((h.shard, Message(from: from, to: to, term: h.term, body: .heartbeat(ChorusRaft.Heartbeat(commit: h.commit, context: [])))))
        }
        for r in heartbeatResponses {
            out.append((r.shard, Message(from: from, to: to, term: r.term, body: .heartbeatResponse(ChorusRaft.HeartbeatResponse(context: [])))))
        }
        return out
    }

    public static func == (a: ShardBatch, b: ShardBatch) -> Bool {
        a.from == b.from && a.to == b.to && a.epoch == b.epoch && a.heartbeats == b.heartbeats
            && a.quiescentHeartbeats == b.quiescentHeartbeats
            && a.heartbeatResponses == b.heartbeatResponses && a.removals == b.removals
            && a.snapshotChunks == b.snapshotChunks && a.snapshotAcks == b.snapshotAcks
            && a.messages.count == b.messages.count
            && zip(a.messages, b.messages).allSatisfy { $0.shard == $1.shard && $0.message == $1.message }
    }
}
