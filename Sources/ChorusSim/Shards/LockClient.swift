import ChorusBase
import ChorusLocks
import ChorusRing

/// One simulated lock client: a session on its home shard, kept alive at the home leader,
/// and a loop of acquire → hold → release over the workload's lock names. Plain state; the
/// behaviour is in `LockWorkload+Clients.swift`.
///
/// Invariants: at most one request outstanding (`request`), retried with the same request id
/// until it has a definitive answer; `leaseFrom` is the sending time of the last keep-alive
/// (or open) the home leader acknowledged, so the session counts as lost once
/// `leaseFrom + ttl` has passed (Chubby's local lease); a hold the client believes in is in
/// `holding` and ends in `beliefs` when it is released, lost or the client stops.
final class LockClient {
    enum Phase: Equatable {
        /// Between operations (or without a session: about to open one).
        case idle
        case opening
        /// An acquire is in flight and has no answer yet.
        case acquiring
        /// The acquire was queued: waiting for a notification, polling with the same id.
        case waiting
        case holding
        case releasing
        /// The client crashed: it sends nothing more, not even keep-alives.
        case stopped
    }

    /// The request being sent, retried until it has a definitive answer.
    struct Request {
        var command: LockCommand
        var shard: ShardID
        var requestID: RequestID
        /// When it was first sent (the local lease of an open starts there).
        var firstSent: Instant
        /// The proposal token of the attempt in flight, if one is.
        var token: UInt64?
    }

    /// A hold as the client believed in it, for the client-side overlap count.
    struct Belief {
        var name: LockName
        var mode: LockMode
        var token: FencingToken
        var from: Instant
        var to: Instant
    }

    let index: Int
    let home: ShardID
    var phase: Phase = .idle
    var session: SessionID?
    var request: Request?
    /// The operation number: request ids are `c<index>-<op>`; a reply or timer of an older
    /// operation is ignored.
    var op = 0
    /// Increments whenever the client's next step is rescheduled: a timer with another epoch
    /// is stale.
    var stepEpoch = 0
    var keepAliveEpoch = 0
    /// The node the client believes leads each shard (leader hints move it).
    var via: [ShardID: Int] = [:]
    var leaseFrom = Instant.zero
    /// The lock being acquired, waited for or held.
    var name: LockName?
    var mode: LockMode = .exclusive
    var waitMillis: UInt64 = 0
    var waitStarted = Instant.zero
    var heldToken: FencingToken?
    var heldSince = Instant.zero
    var beliefs: [Belief] = []
    /// Crash at the next grant from this instant on (so the crash leaves a lock held).
    var crashWhenHolding: Instant?
    /// Set when the client crashed: its session, and the lock it held then with its token.
    var crashedSession: SessionID?
    var crashedName: LockName?
    var crashedToken: FencingToken?
    var crashedAt: Instant?

    init(index: Int, home: ShardID) {
        self.index = index
        self.home = home
    }

    func nextRequestID() -> RequestID {
        op += 1
        // Short ASCII ids are always valid.
        do { return try RequestID("c\(index)-\(op)") } catch { preconditionFailure("\(error)") }
    }

    /// Ends the hold the client believes in, at `time`.
    func endBelief(at time: Instant) {
        guard let name, let token = heldToken else { return }
        beliefs.append(Belief(name: name, mode: mode, token: token, from: heldSince, to: max(time, heldSince)))
        heldToken = nil
    }
}
