import ChorusBase
import ChorusMembership

// Graceful leave: the node's membership spreads a `left` update (bounded by `leaveTimeout`);
// the agent exits with status 0 once the node says it is spread, answering API callers first.
extension Agent {

    func beginLeave(reason: String) {
        guard !exiting, !membership.isLeaving, shards.drainDeadline == nil else { return }
        if shouldDrain {
            startDrain(reason: reason)
            return
        }
        leaveNow(reason: reason)
    }

    /// Spreads the `left` update (after any drain).
    func leaveNow(reason: String) {
        guard !exiting, !membership.isLeaving else { return }
        log.info("leaving the cluster", ["reason": reason])
        membershipInput { node, time, effects in node.leave(at: time, into: &effects) }
    }

    /// Called after every membership input once the node says the leave is spread (or no
    /// live member is left to tell): exits.
    func followLeave() {
        guard !exiting else { return }
        log.info("left the cluster", ["incarnation": membership.incarnation])
        let waiting = leaveWaiters
        leaveWaiters = []
        for responder in waiting { responder.respond(.json(200, ["left": true, "name": settings.name] as [String: Any])) }
        finish(status: 0)
    }
}
