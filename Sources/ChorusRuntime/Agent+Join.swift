import ChorusBase
import ChorusMembership
import Dispatch

// Joining: seed names resolved off the loop (getaddrinfo blocks), then the node's join (the
// membership retries with backoff and the node logs its progress), and the API answers that
// follow it.
extension Agent {

    /// Resolves "HOST:PORT" texts on a background queue; returns what resolved and one
    /// message per text that did not.
    static func resolve(_ texts: [String]) -> (endpoints: [Endpoint], failures: [String]) {
        var endpoints: [Endpoint] = []
        var failures: [String] = []
        for text in texts {
            do {
                for e in try Resolver.resolve(text) where !endpoints.contains(e) { endpoints.append(e) }
            } catch {
                failures.append(error.description)
            }
        }
        return (endpoints, failures)
    }

    /// Startup join: resolve the configured seeds, then join through them; while none
    /// resolves, try again with doubling delays.
    func resolveSeeds(_ seeds: [String]) {
        DispatchQueue.global().async { [self] in
            let (endpoints, failures) = Agent.resolve(seeds)
            self.loop.execute { [self] in self.seedsResolved(seeds, endpoints, failures) }
        }
    }

    private func seedsResolved(_ seeds: [String], _ endpoints: [Endpoint], _ failures: [String]) {
        guard !exiting, !membership.isLeaving else { return }
        for failure in failures { log.warn("cannot resolve seed", ["error": failure]) }
        guard !endpoints.isEmpty else {
            log.warn("no seed address resolved; retrying", ["in": seedRetryDelay])
            loop.schedule(after: seedRetryDelay) { [self] in self.resolveSeeds(seeds) }
            seedRetryDelay = min(seedRetryDelay * 2, settings.membership.joinBackoffCap)
            return
        }
        log.info("joining through seeds", ["seeds": endpoints.map(\.description).joined(separator: ",")])
        join(through: endpoints)
    }

    /// The node's join through `seeds` (none: the first member of its own cluster).
    func join(through seeds: [Endpoint]) {
        membershipInput { node, time, effects in node.join(seeds: seeds, at: time, into: &effects) }
    }

    /// Answers API joins waiting for the node to have joined.
    func answerJoinWaiters() {
        if !joinWaiters.isEmpty && membership.hasJoined {
            let waiting = joinWaiters
            joinWaiters = []
            for w in waiting {
                loop.cancel(w.timer)
                w.responder.respond(.json(200, joinReply(joined: true, w)))
            }
        }
    }

    /// `POST /v1/join` after resolution: start the join and answer once a seed replies, or
    /// after the join timeout (the core keeps retrying in the background).
    func apiJoinResolved(_ responder: HTTPResponder, _ addresses: [String], _ endpoints: [Endpoint], _ failures: [String]) {
        guard !exiting, !membership.isLeaving else {
            responder.respond(.error(503, code: "leaving", message: "the agent is leaving the cluster"))
            return
        }
        guard !endpoints.isEmpty else {
            responder.respond(.error(400, code: "unresolvable", message: failures.joined(separator: "; ")))
            return
        }
        log.info("joining on request", ["addresses": endpoints.map(\.description).joined(separator: ",")])
        let wait = settings.membership.joinTimeout
        let timer = loop.schedule(after: wait) { [unowned self] in self.joinWaitExpired(responder) }
        joinWaiters.append(JoinWaiter(responder: responder, addresses: endpoints.map(\.description), unresolved: failures, timer: timer))
        join(through: endpoints)
    }

    private func joinWaitExpired(_ responder: HTTPResponder) {
        guard let i = joinWaiters.firstIndex(where: { $0.responder === responder }) else { return }
        let w = joinWaiters.remove(at: i)
        w.responder.respond(.error(503, code: "join_pending",
                                   message: "no answer from \(w.addresses.joined(separator: ", ")) within \(settings.membership.joinTimeout); the agent keeps retrying with backoff"))
    }

    private func joinReply(joined: Bool, _ w: JoinWaiter) -> [String: Any] {
        ["joined": joined, "addresses": w.addresses, "unresolved": w.unresolved,
         "members_alive": membership.count(of: .alive)]
    }
}
