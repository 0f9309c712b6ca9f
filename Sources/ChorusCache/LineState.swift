import ChorusBase

/// The state of one key at a cache controller, named as in Sorin, Hill & Wood's primer
/// (ch. 8): `XY_Z` is "was X, becoming Y, waiting for Z" (A acks, D data).
///
/// | state  | meaning                                                   | reads        |
/// |--------|-----------------------------------------------------------|--------------|
/// | I      | no copy                                                   | miss         |
/// | S      | shared copy under lease                                   | hit          |
/// | E      | only copy, clean, under lease                             | hit          |
/// | M      | only copy, written by this node, under lease              | hit          |
/// | IS_D   | asked for a copy, waiting for data                        | join         |
/// | IS_D_I | as IS_D, and an invalidation arrived first                | join         |
/// | IS_A   | read answered; waiting for the old owner's ack            | wait         |
/// | IM_AD  | asked to write, waiting for data and acks                 | wait         |
/// | IM_A   | write is durable, waiting for acks                        | wait         |
/// | SM_AD  | sharer asked to write (upgrade), waiting for data, acks   | hit (old)    |
/// | SM_A   | upgrade durable, waiting for acks                         | hit (old)    |
/// | MM_D   | owner (E or M) asked to write, waiting for data           | hit (old)    |
/// | SI_A   | evicted S, waiting for put-ack                            | wait         |
/// | EI_A   | evicted E, waiting for put-ack                            | wait         |
/// | MI_A   | evicted M, waiting for put-ack                            | wait         |
/// | II_A   | evicted, then invalidated; waiting for put-ack            | wait         |
///
/// "hit (old)" serves the value held before the write: the write has not completed, so
/// the old value is a read concurrent with it. "wait" parks the operation until the line
/// is stable again.
public enum LineState: String, Sendable, CaseIterable {
    case I, S, E, M
    case IS_D, IS_D_I, IS_A
    case IM_AD, IM_A
    case SM_AD, SM_A
    case MM_D
    case SI_A, EI_A, MI_A, II_A

    /// Whether a line in this state holds a value it may read (subject to its lease).
    public var readsLocally: Bool {
        switch self {
        case .S, .E, .M, .SM_AD, .SM_A, .MM_D: return true
        default: return false
        }
    }
    /// Whether a line in this state holds write permission (the single-writer side).
    public var isWriter: Bool {
        switch self {
        case .E, .M, .MM_D: return true
        default: return false
        }
    }
}

/// A stable copy held in the local cache. Invariant: `state` is S, E or M; `grant` is the
/// home transaction that granted it (or that downgraded it to S).
public struct CacheCopy: Hashable, Sendable {
    public var state: LineState
    public var value: [UInt8]?
    public var version: UInt64
    public var grant: TxnID
    public var home: CacheNodeID

    var cost: Int { (value?.count ?? 0) &+ 32 }
}

/// What a request in flight is for.
enum RequestKind: Hashable, Sendable {
    case read
    case write(upgrade: Bool)
}

/// The `data` a pending line has received.
struct DataArrival: Hashable, Sendable {
    var txn: TxnID
    var grant: Grant
    var ackCount: UInt32
    var version: UInt64
    var carriesValue: Bool = false
    var value: [UInt8]?
}

/// A line in a transient state: the request in flight (or the put), who waits on it and
/// what has arrived. Invariant: `state` is transient; `tag != nil` exactly for request
/// states and `putGrant != nil` exactly for put states.
struct PendingLine: Sendable {
    var state: LineState
    var home: CacheNodeID
    var kind: RequestKind = .read
    var tag: RequestTag? = nil
    var firstSent: Instant
    var lastSent: Instant
    var readers: [ClientOpID] = []
    var writer: ClientOpID? = nil
    var writeValue: [UInt8]? = nil
    /// The copy held before a write by a sharer or owner; reads are served from it.
    var retained: CacheCopy? = nil
    var retainedLeaseEnd: Instant = .zero
    /// Distinct nodes that acknowledged this request's invalidations, sorted.
    var ackers: [CacheNodeID] = []
    var data: DataArrival? = nil
    /// The newest invalidation met while pending.
    var invalidatedBy: TxnID? = nil
    /// The grant a put gives back.
    var putGrant: TxnID? = nil
    var putMessage: CacheMessage? = nil

    var acksComplete: Bool {
        guard let data else { return false }
        return ackers.count >= Int(data.ackCount)
    }
}

/// A client operation parked until its key's line is stable.
enum ParkedOp: Sendable {
    case read(ClientOpID, home: CacheNodeID)
    case write(ClientOpID, [UInt8]?, home: CacheNodeID)
}
