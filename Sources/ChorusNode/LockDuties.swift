import ChorusBase
import ChorusLocks
import ChorusRing

/// The lock service's soft state on one node: the leader clocks of the shards it leads,
/// acquires parked until their wait settles, foreign sessions recently confirmed alive,
/// drop fan-outs in progress, and — on the leader of shard 0 — the deadlock detector.
/// Everything here is rebuilt after a restart or failover; what must survive is in the
/// shards' lock tables (replicated by Raft).
///
/// Invariants: `leaders` holds exactly the shards this node leads, set from the host's
/// leadership changes; a parked request is answered once (settled by a notification,
/// re-routed when leadership moves, or failed when the node stops).
struct LockDuties {
    /// A leader's clocks for one shard.
    struct Clocks {
        var leases: SessionLeases
        var waits: WaitDeadlines
        /// Home sessions the leases track, and the table's applied index they match.
        var tracked: Set<SessionID> = []
        var reconciledAt: UInt64 = 0
        var reconciledTime = Instant.zero
        /// When this node took over the shard: sessions adopted later still get the takeover
        /// grace from this instant (they were the old leader's to keep alive).
        var takeoverAt: Instant
    }

    /// Identifies one queued acquire across notifications.
    struct WaitKey: Hashable, Comparable {
        var shard: ShardID
        var session: SessionID
        var name: LockName
        var requestID: RequestID

        static func < (a: WaitKey, b: WaitKey) -> Bool {
            (a.shard, a.session, a.name, a.requestID) < (b.shard, b.session, b.name, b.requestID)
        }
    }

    /// A session drop still owed to some shards.
    struct Fanout {
        var pending: Set<ShardID>
        var started: Instant
        /// The shard-by-shard phase has begun.
        var perShard = false
    }

    var leaders: [ShardID: Clocks] = [:]
    var parked: [WaitKey: [Routed]] = [:]
    var confirmed: [SessionID: Instant] = [:]
    var detector: DeadlockDetector?
    /// Per shard led here: the detector epoch to echo in the next report.
    var echo: [ShardID: UInt64] = [:]
    /// Per shard led here: the detector took an empty report from this leader last, so it
    /// holds no edge of the shard and another empty report would tell it nothing (it is
    /// sent again only when the detector asks for one).
    var reportedEmpty: Set<ShardID> = []
    var fanouts: [SessionID: Fanout] = [:]
    var lastReport = Instant.zero
    var lastDetection = Instant.zero
    var lastAudit = Instant.zero

    static let detectorShard = ShardID(0)
}
