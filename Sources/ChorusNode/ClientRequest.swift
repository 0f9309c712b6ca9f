import ChorusCache
import ChorusLocks
import ChorusQueue
import ChorusRing

/// A client's request as a node receives it, already parsed from its front door (HTTP/JSON
/// today): every field is validated, so the node never re-checks syntax, only meaning.
///
/// Invariant: a request carries everything needed to retry it on another node unchanged —
/// writes carry the request id that makes a retry exactly-once (assigned by the first node
/// when the client gave none, see `Node.assignRequestID`).
public enum ClientRequest: Hashable, Sendable {
    /// A linearizable read of one key (ReadIndex on the key's shard leader).
    case kvGet(key: [UInt8])
    /// Sets `key` to `value`; `requestID` makes a retry apply at most once.
    case kvPut(key: [UInt8], value: [UInt8], requestID: [UInt8])
    /// Removes `key`.
    case kvDelete(key: [UInt8], requestID: [UInt8])
    /// Opens a session; its home shard follows from the request id.
    case openSession(ttlMillis: UInt64, requestID: RequestID)
    /// Renews a session's lease on its home shard's leader.
    case keepAlive(SessionID)
    /// Ends a session (its holds are released on every shard).
    case closeSession(SessionID, requestID: RequestID)
    /// Acquires a lock, waiting up to `waitMillis` (0: try once).
    case acquire(name: LockName, session: SessionID, mode: LockMode, waitMillis: UInt64, requestID: RequestID)
    /// Gives up a hold (and withdraws a pending wait) of the session.
    case release(name: LockName, session: SessionID, requestID: RequestID)
    /// A linearizable read of one lock's holders and waiters.
    case lockStatus(LockName)
    /// Every lock held or waited for whose name starts with `prefix`; `localOnly` lists only
    /// the shards this node leads.
    case lockList(prefix: String, localOnly: Bool)
    /// Every shard's replicas and leader; `localOnly` lists this node's replicas only.
    case shardList(localOnly: Bool)

    // MARK: queue service
    /// Creates a queue (on the catalogue's shard); a retry with equal settings is harmless.
    case queueCreate(QueueName, QueueSettings)
    case queueDelete(QueueName)
    case queueList
    case queueInfo(QueueName)
    /// Publishes a batch; the node picks each message's partition (key hash, or one rotating
    /// choice for the batch's messages without a key).
    case queuePublish(QueueName, [OutgoingMessage])
    /// Leases up to `maxMessages`, waiting up to `waitMillis` for one to be ready (long poll).
    case queueFetch(QueueName, consumer: ConsumerID, maxMessages: Int, maxBytes: Int, visibilityMillis: UInt64, waitMillis: UInt64)
    case queueSettle(QueueName, [QueueReceipt], QueueSettlement)
    case queueStats(QueueName)
    /// Returns up to `maxMessages` dead letters of every partition to the queue.
    case queueRedrive(QueueName, maxMessages: Int)
    /// Up to `limit` dead letters still held by each partition (lowest offset first).
    case queueDeadLetters(QueueName, limit: Int)
    /// One partition's part of a queue request, routed to the leader of the shard the ring
    /// gives `q/p` (nodes send it to each other; front doors never build it).
    case queuePartition(QueueInfo, partition: UInt16, QueueOperation)

    // MARK: cache
    /// Reads a cached key: a local copy under lease, else its home (the leader of the key's
    /// shard) answers with the value last written through.
    case cacheGet(key: [UInt8])
    /// Writes a key through its home: answered once durable and every other copy is gone.
    case cachePut(key: [UInt8], value: [UInt8])
    /// As `cachePut`, and the key expires `ttlMillis` after its home takes the write (by the
    /// home's wall clock): then it reads as absent everywhere.
    case cachePutExpiring(key: [UInt8], value: [UInt8], ttlMillis: UInt64)
    /// Adds `by` to the key's value read as a decimal integer (absent: 0), atomically: one
    /// read-modify-write in the key's shard. Answered with `.cacheInteger`.
    case cacheIncrement(key: [UInt8], by: Int64)
    case cacheDelete(key: [UInt8])
    /// This node's cache counters.
    case cacheStats

    /// The longest wait a client may ask for (a day): bounds every deadline the node computes.
    public static let maxWaitMillis: UInt64 = 86_400_000
    /// Longest lock-list prefix accepted.
    public static let maxPrefixBytes = 1024
    /// How long a cache operation may wait at its node beyond routing: a new home's takeover
    /// quiet period (a lease bound plus two election timeouts) with room to spare.
    public static let cachePatienceMillis: UInt64 = 4_000
    /// Longest TTL accepted (ten years): an expiry stays far from the wall clock's range.
    public static let maxCacheTTLMillis: UInt64 = 315_360_000_000

    /// How long past routing the answer may legitimately take (an acquire's wait).
    public var patienceMillis: UInt64 {
        if case let .acquire(_, _, _, wait, _) = self { return min(wait, ClientRequest.maxWaitMillis) }
        if case let .queueFetch(_, _, _, _, _, wait) = self { return min(wait, ClientRequest.maxWaitMillis) }
        switch self {
        case .cacheGet, .cachePut, .cachePutExpiring, .cacheIncrement, .cacheDelete: return ClientRequest.cachePatienceMillis
        default: break
        }
        return 0
    }
}

/// Identifies one client request a driver handed to the node, so that the node's reply
/// effect finds its way back (an HTTP exchange in the runtime, a client in the simulator).
public struct ClientTicket: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: ClientTicket, b: ClientTicket) -> Bool { a.value < b.value }
    public var description: String { "#\(value)" }
}
