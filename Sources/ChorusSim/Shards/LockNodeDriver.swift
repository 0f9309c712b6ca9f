import ChorusBase
import ChorusLocks
import ChorusRing

/// What one node's agent keeps for the lock service beside its `ShardHost`: the soft clocks
/// of every shard it leads, and the `dropSession` fan-out it still owes. All of it is lost
/// when the node crashes or restarts (`generation` changes), as an agent's memory would be.
///
/// Invariant: `leading` holds exactly the shards whose leadership the host reported gained
/// and not since lost, in this generation.
final class LockNodeDriver {
    let generation: Int
    var leading: [ShardID: LockLeaderClocks] = [:]
    /// `dropSession`s this node still has to get applied on other shards, oldest first.
    var drops: [PendingDrop] = []

    init(generation: Int) { self.generation = generation }

    func hasDrop(_ session: SessionID, on shard: ShardID) -> Bool {
        drops.contains { $0.session == session && $0.shard == shard }
    }
}

/// A shard leader's soft state (docs/locks.md, "Driver contract"): the session leases and
/// wait deadlines, plus what the driver needs to keep them in step with the table.
///
/// `tracked` mirrors the sessions `leases` has a clock for (the leases do not list them), so
/// that a session that vanished from the table's home sessions — ended by an entry this
/// leader did not propose — is noticed and fanned out.
struct LockLeaderClocks {
    var leases: SessionLeases
    var waits: WaitDeadlines
    var tracked: Set<SessionID> = []
    /// The applied index at the last reconciliation with the table.
    var reconciledAt: UInt64 = 0
    /// Foreign sessions this shard still knows that were dead at home at the last sweep.
    var suspects: Set<SessionID> = []
    var nextSweep: Instant

    init(now: Instant, table: LockTable) {
        // Default clock settings are valid by construction.
        do {
            leases = try SessionLeases()
            waits = try WaitDeadlines()
        } catch { preconditionFailure("\(error)") }
        nextSweep = now
        let home = table.homeSessions()
        leases.becameLeader(sessions: home, now: now)
        waits.becameLeader(waits: table.allWaiters(), now: now)
        tracked = Set(home.map(\.id))
        reconciledAt = table.appliedIndex
    }
}

/// A `dropSession` owed to `shard` for a session that ended at home.
struct PendingDrop {
    var session: SessionID
    var shard: ShardID
    /// The node believed to lead `shard`.
    var via: Int
    /// The proposal in flight, if any.
    var token: UInt64?
    /// No attempt before this instant (a pause after a refusal, or the reply timeout).
    var notBefore: Instant
}

/// A proposal a leader made on its own account, to match its reply.
enum LeaderRequest {
    case expire(node: Int, generation: Int, shard: ShardID, session: SessionID)
    case cancel(node: Int, generation: Int, shard: ShardID, wait: PendingWait)
    case drop(node: Int, generation: Int, shard: ShardID, session: SessionID)
}
