import ChorusBase
import ChorusCache
import ChorusQueue
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards

/// Where the answer to a request goes.
enum ReplyTo: Hashable, Sendable {
    /// A client of this node's front door.
    case client(ClientTicket)
    /// The node that forwarded the request, and its call id.
    case peer(NodeID, callID: UInt64)
    /// A step of a request this node splits into parts (a queue publish over partitions):
    /// the answer goes to the part's continuation (`QueueDuties`).
    case local(UInt64)
    /// The publish that moves a partition's dead letters (these offsets) into its queue's
    /// dead-letter queue: once stored there, they are dropped from the partition.
    case deadLetterMove(PartitionID, offsets: [UInt64])
    /// One step of a redrive from a dead-letter queue back to its source (`RedriveJob`).
    case redrive(UInt64, RedriveStep)
    /// Nobody waits for the answer (the partition drops that follow a queue's deletion).
    case nobody
}

/// A client request on its way: where to answer, and the routing deadline. The same value
/// is routed again (same request ids) after a leader change, so a retry is exactly-once.
struct Routed: Sendable {
    var request: ClientRequest
    var replyTo: ReplyTo
    var deadline: Instant

    var isForwarded: Bool {
        if case .peer = replyTo { return true }
        return false
    }
}

/// What a host token (a proposal or a ReadIndex read) is waiting for.
enum HostWait: Sendable {
    /// A client request served on this leader.
    case serve(Routed, shard: ShardID)
    /// A read on a session's home shard (led here) confirming the session before an acquire
    /// on `shard` is proposed for it.
    case confirm(Routed, shard: ShardID, session: SessionID)
    /// A `.propose` from another node.
    case peerPropose(origin: NodeID, callID: UInt64)
    /// A `.sessionState` question from another node, after the read that confirms it.
    case sessionState(origin: NodeID, callID: UInt64, session: SessionID)
    /// One shard's part of a `.dropSession` from another node.
    case dropHere(gather: UInt64, shard: ShardID)
    /// A command this leader proposed on its own account.
    case chore(LeaderChore)
    /// A group commit: the publishes of several requests to one partition in one entry.
    case queueBatch(QueueBatch)
    /// A partition leader's clock entry (leases and delays ending).
    case queueTick(PartitionID)
    /// A partition leader drops the dead letters it moved to the dead-letter queue.
    case deadLetterDrop(PartitionID, complete: Bool)
    /// A cache home's read of a key's durable value, for the directory of `epoch`.
    case cacheLoad(shard: ShardID, key: CacheKey, epoch: UInt64)
    /// A cache home's write-through of transaction `txn`.
    case cacheWrite(shard: ShardID, key: CacheKey, txn: TxnID)
    /// A cache home's purge of the shard's expired records.
    case cachePurge(shard: ShardID)

    /// The client or peer to tell when the node stops, if any.
    var replyTo: ReplyTo? {
        switch self {
        case let .serve(r, _), let .confirm(r, _, _): return r.replyTo
        default: return nil
        }
    }
}

/// Commands a leader proposes on its own: their follow-up once applied.
enum LeaderChore: Sendable {
    case expire(shard: ShardID, session: SessionID)
    case timeout(shard: ShardID)
    case drop(session: SessionID, shard: ShardID)
    case victim(shard: ShardID)
    case auditDrop(shard: ShardID)
}

/// What an outbound peer call is for.
enum CallPurpose: Sendable {
    case forward(Routed)
    /// Confirming a foreign session before an acquire is proposed for it.
    case confirmSession(Routed, shard: ShardID)
    /// The audit asking a session's home about it.
    case audit(session: SessionID, shard: ShardID)
    /// The node-wide phase of a drop fan-out.
    case drop(SessionID)
    /// A leader's own command proposed through another shard's leader.
    case propose(LeaderChore, shard: ShardID, requestID: [UInt8], command: [UInt8], deadline: Instant)
    case report(shard: ShardID, empty: Bool)
    case refresh
    case gather(UInt64)
}

/// A cluster-wide listing (or a drop on every led shard) collecting answers.
struct Gather: Sendable {
    enum Kind: Sendable {
        case locks(prefix: String, replyTo: ReplyTo)
        case shards(replyTo: ReplyTo)
        case drop(origin: NodeID, callID: UInt64)
    }
    var kind: Kind
    var pending: Int
    var deadline: Instant
    var locks: [LockView] = []
    var shards: [ShardReport] = []
    var dropped: [UInt16] = []
}

/// A leader's own command waiting to be proposed again through its shard's leader.
struct ChoreRetry: Sendable {
    var at: Instant
    var chore: LeaderChore
    var shard: ShardID
    var requestID: [UInt8]
    var command: ShardCommand
    var deadline: Instant
}
