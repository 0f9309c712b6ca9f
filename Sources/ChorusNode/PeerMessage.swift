import ChorusCache
import ChorusLocks
import ChorusRaft
import ChorusRing

/// One node-to-node RPC message, carried as a frame on the peer streams beside Raft batches.
///
/// Every request has a `callID` unique among the origin's calls in flight, the `origin`'s Raft
/// id, and a `budgetMillis`: how long the origin will wait for the answer, counted from when it
/// sent it. A relative budget needs no agreement between clocks; the receiver turns it into a
/// deadline on its own clock, so a request delayed on the way only loses budget.
/// A reply echoes the request's `callID`. A cache frame is one-way (both ends of the cache
/// protocol retransmit): its `callID` and `budgetMillis` are 0 and nothing answers it.
public struct PeerMessage: Hashable, Sendable {
    public var callID: UInt64
    public var origin: NodeID
    public var budgetMillis: UInt32
    public var body: Body

    public enum Body: Hashable, Sendable {
        case request(PeerRequest)
        case reply(PeerReply)
        /// A coherence message of the cache, from the sender's cache life `life`.
        case cache(life: UInt64, CacheMessage)
    }

    public init(callID: UInt64, origin: NodeID, budgetMillis: UInt32, body: Body) {
        self.callID = callID; self.origin = origin; self.budgetMillis = budgetMillis; self.body = body
    }
}

/// What one node asks another.
public enum PeerRequest: Hashable, Sendable {
    /// A client request forwarded to the leader of its shard (one hop: a node that does not
    /// lead answers `.notLeader` instead of forwarding again).
    case client(ClientRequest)
    /// A command a leader proposes on its own account to another shard (a session drop, a
    /// deadlock victim's cancel), exactly once per `requestID`.
    case propose(shard: ShardID, requestID: [UInt8], command: [UInt8])
    /// What the home shard's leader knows of a session.
    case sessionState(SessionID)
    /// Drop a session that ended at home on every shard the receiver leads.
    case dropSession(SessionID)
    /// A shard leader's wait-for edges for the deadlock detector, echoing the detector's
    /// latest refresh epoch for that shard.
    case deadlockReport(shard: UInt16, epoch: UInt64, edges: [WaitEdge])
    /// The detector asks the leader of `shard` for a report echoing `epoch`, at once.
    case deadlockRefresh(shard: UInt16, epoch: UInt64)
}

/// How a node answers a `PeerRequest`.
public enum PeerReply: Hashable, Sendable {
    case client(ClientReply)
    /// The proposed command was applied; the state machine's reply bytes.
    case applied([UInt8])
    case sessionState(SessionStanding)
    /// The shards on which the drop was applied.
    case dropped([UInt16])
    /// The detector took the report; the epoch to echo next time.
    case reportTaken(epoch: UInt64)
    case done
    /// The receiver does not lead the shard; the leader it knows, if any.
    case notLeader(hint: NodeID?)
    /// The receiver refused the call without acting on it.
    case refused(PeerRefusal)
}

/// What a session's home shard leader says of it.
public enum SessionStanding: UInt8, Hashable, Sendable {
    /// Open, and its lease has not run out.
    case alive = 1
    /// Its lease ran out; the expiry is on its way through the log.
    case expiring
    /// Closed, expired or dropped: a committed fact (the home holds a tombstone).
    case dead
    /// Not known here (yet): a leader that has not confirmed its reads, or a bad id.
    case unknown
}

/// Why a node refused a call outright (nothing was done: the origin may retry elsewhere).
public enum PeerRefusal: UInt8, Hashable, Sendable {
    /// Too many calls in flight at the receiver.
    case overloaded = 1
    /// The budget was spent before the receiver could act.
    case expired
    /// The request is unusable (a shard out of range, a command that does not decode).
    case badRequest
    /// The receiver belongs to another shard set.
    case foreignShardSet
}
