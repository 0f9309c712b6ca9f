import ChorusBase
import ChorusLocks
import ChorusRing

/// The lock service's soft state on one agent (loop thread only): the leader clocks of the
/// shards this node leads, the acquire requests parked until their wait settles, the
/// foreign sessions recently confirmed alive, and — on the leader of shard 0 — the deadlock
/// detector. Everything here is rebuilt after a restart or failover; what must survive is in
/// the shards' lock tables (replicated by Raft).
///
/// Invariants: `leaders` holds exactly the shards this node leads (set from the host's
/// leadership changes); a parked request is answered once (settled by a notification,
/// re-routed when leadership moves, or failed when the agent stops).
final class LockService {
    /// The leader's clocks for one shard.
    struct LeaderClocks {
        var leases: SessionLeases
        var waits: WaitDeadlines
        /// Home sessions the leases track, and the table's applied index they match.
        var tracked: Set<SessionID> = []
        var reconciledAt: UInt64 = 0
        var reconciledTime = Instant.zero
    }

    /// What a session's home shard says of it.
    enum SessionState: String {
        /// Open, and its lease has not run out.
        case alive
        /// Its lease ran out; the expiry is on its way through the log.
        case expiring
        /// Closed, expired or dropped: a committed fact (the home holds a tombstone).
        case dead
        /// Not known here (yet): a leader that has not applied everything, or a bad id.
        case unknown
    }

    /// An acquire waiting for its lock: the HTTP exchange and how to re-route it.
    struct Parked {
        var request: HTTPRequest
        var responder: HTTPResponder
        var mode: LockMode
    }

    /// Identifies one queued acquire across notifications.
    struct WaitKey: Hashable {
        var shard: ShardID
        var session: SessionID
        var name: LockName
        var requestID: RequestID
    }

    var leaders: [ShardID: LeaderClocks] = [:]
    var parked: [WaitKey: [Parked]] = [:]
    /// Sessions of other shards confirmed alive by their home leader, and when.
    var confirmed: [SessionID: Instant] = [:]
    /// The deadlock detector, while this node leads shard 0.
    var detector: DeadlockDetector?
    /// Per shard this node leads: the detector epoch to echo in the next report.
    var echo: [ShardID: UInt64] = [:]
    var lastReport = Instant.zero
    var lastDetection = Instant.zero
    var lastAudit = Instant.zero
    var expiryProposals = 0, timeoutProposals = 0, deadlockVictims = 0, dropsSent = 0

    /// How long a confirmation that a foreign session is alive is trusted.
    static let confirmationLife: Interval = .seconds(1)
    static let detectorShard = ShardID(0)
}
