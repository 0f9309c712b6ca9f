import ChorusCache
import ChorusLocks
import ChorusQueue
import ChorusRing

/// The node's answer to a `ClientRequest`. Front doors translate it (status codes, JSON);
/// the node never knows about HTTP.
public enum ClientReply: Hashable, Sendable {
    case kvWritten(key: [UInt8], shard: ShardID, index: UInt64)
    case kvValue(key: [UInt8], shard: ShardID, value: [UInt8])
    case sessionOpened(SessionID, ttlMillis: UInt64)
    case sessionAlive(SessionID, ttlMillis: UInt64)
    case sessionClosed(SessionID)
    case granted(name: LockName, mode: LockMode, token: FencingToken)
    case released
    case lock(LockView)
    case locks([LockView])
    case shards([ShardReport])
    case failure(ClientFailure)

    // MARK: queue service
    /// The catalogue's answer to a create or delete.
    case queueCatalogue(CatalogueReply)
    case queues([QueueInfo])
    case queue(QueueInfo)
    /// One outcome per published message, in the order of the request.
    case queuePublished([PublishOutcome])
    case queueDelivered([QueueDelivery])
    /// One outcome per receipt, in the order of the request.
    case queueSettled([SettleOutcome])
    case queueStatistics(QueueStatistics)
    case queueCount(Int)
    /// A partition leader's answer to `.queuePartition`.
    case queuePartitionReply(QueueReply)
    case queuePartitionStats(PartitionStats)
    /// A partition leader's dead letters (`.queuePartition(…, .deadLetters)`).
    case queuePartitionDeadLetters([DeadLetterView])
    /// The dead letters of a queue, partition by partition.
    case queueDeadLetters([QueueDeadLetter])

    // MARK: cache
    /// A cache read's answer (`nil`: the key has no value).
    case cacheValue(key: [UInt8], value: [UInt8]?)
    /// A cache write or delete is durable and every other copy is gone.
    case cacheWritten(key: [UInt8])
    /// An increment is durable: the key's value is now `value`.
    case cacheInteger(key: [UInt8], value: Int64)
    case cacheStatistics(CacheMetrics)

    static func fail(_ code: ClientFailure.Code, _ message: String) -> ClientReply {
        .failure(ClientFailure(code: code, message: message))
    }
}

/// Why a request failed, as a stable code and a human message.
public struct ClientFailure: Hashable, Sendable, CustomStringConvertible {
    /// Stable codes; the HTTP front door maps each to a status (docs/api.md).
    public enum Code: UInt8, Hashable, Sendable, CaseIterable {
        case invalidRequest = 1
        case notFound
        /// The session ended (closed, expired, or dropped) — or a keep-alive came too late.
        case sessionExpired
        /// An acquire's wait ran out (or a try-lock found the lock held).
        case timeout
        case deadlock
        case withdrawn
        case notHeld
        /// No leader of the shard could be reached within the routing budget.
        case noLeader
        /// This node or the leader refused for lack of room (in-flight bounds, full queues).
        case overloaded
        /// The answer cannot be given safely yet (a session not confirmable); retry.
        case unavailable
        /// The shard refused the command (too large, malformed).
        case rejected
        case `internal`
        /// A message is larger than the queue allows (HTTP 413).
        case tooLarge
        /// The queue holds its limit of messages (HTTP 429).
        case queueFull
        /// The queue holds its limit of bytes (HTTP 507).
        case bytesFull
        /// The queue exists with other settings, or is another queue's dead-letter queue (HTTP 409).
        case conflict
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// One lock's holders and waiters, as a status read or a listing shows it.
public struct LockView: Hashable, Sendable {
    public struct Holder: Hashable, Sendable {
        public var session: SessionID
        public var mode: LockMode
        public var token: FencingToken
    }
    public struct Waiter: Hashable, Sendable {
        public var session: SessionID
        public var mode: LockMode
        public var requestID: RequestID
    }
    public var name: LockName
    public var holders: [Holder]
    public var waiters: [Waiter]

    public init(name: LockName, holders: [Holder], waiters: [Waiter]) {
        self.name = name; self.holders = holders; self.waiters = waiters
    }

    init(_ name: LockName, in table: LockTable) {
        self.name = name
        holders = table.holders(of: name).map { Holder(session: $0.session, mode: $0.mode, token: $0.token) }
        waiters = table.waiters(of: name).map { Waiter(session: $0.session, mode: $0.mode, requestID: $0.requestID) }
    }
}

/// One shard replica as a node reports it (names resolved by the reporting node).
/// Invariant: `voters` and `learners` are member names (a Raft id in hex when unknown).
public struct ShardReport: Hashable, Sendable {
    public var shard: Int
    public var voters: [String]
    public var learners: [String]
    public var leader: String?
    public var term: UInt64
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var reportedBy: String?

    public init(shard: Int, voters: [String], learners: [String], leader: String?, term: UInt64, commitIndex: UInt64,
                appliedIndex: UInt64, reportedBy: String?) {
        self.shard = shard; self.voters = voters; self.learners = learners; self.leader = leader; self.term = term
        self.commitIndex = commitIndex; self.appliedIndex = appliedIndex; self.reportedBy = reportedBy
    }

    /// Of two reports of one shard, the more authoritative: a leader's over a follower's,
    /// then the higher term, then the higher commit index.
    public static func better(_ a: ShardReport, _ b: ShardReport) -> ShardReport {
        let aLeads = a.leader != nil && a.leader == a.reportedBy
        let bLeads = b.leader != nil && b.leader == b.reportedBy
        if aLeads != bLeads { return aLeads ? a : b }
        if a.term != b.term { return a.term > b.term ? a : b }
        return a.commitIndex >= b.commitIndex ? a : b
    }
}
