import ChorusBase
import ChorusMembership

// Graceful leave: the core spreads a `left` update (bounded by `leaveTimeout`); the agent
// exits with status 0 once it reports done, answering API callers first.
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
        membership.leave(at: loop.now(), into: &effects)
        afterInput()
    }

    /// Called after every input while leaving: exits once the core says the leave is spread,
    /// or at once when no live member is left to tell.
    func followLeave() {
        guard !exiting, membership.hasLeft || membership.liveCount == 0 else { return }
        log.info("left the cluster", ["incarnation": membership.incarnation])
        let waiting = leaveWaiters
        leaveWaiters = []
        for responder in waiting { responder.respond(.json(200, ["left": true, "name": settings.name] as [String: Any])) }
        finish(status: 0)
    }
}
