import ChorusBase
import ChorusLocks
import ChorusRaft
import ChorusRing
import ChorusShards
import Dispatch
import Foundation

/// What became of a command proposed on this node: applied (with its reply), or this node
/// cannot decide it (not the leader, or leadership moved before the outcome was known: the
/// caller routes it again with the same request id), or refused outright.
enum LocalProposal {
    case applied([UInt8])
    case reroute
    case refused(ShardRefusal)
}

// The lock service's moving parts on the agent: leader clocks (session expiry, wait
// deadlines), notifications to parked acquires, ending a session on every shard, checking a
// foreign session with its home shard, and the deadlock detector on shard 0's leader.
extension Agent {

    // MARK: proposing

    /// Proposes `command` to `shard` on this node (which should lead it) and calls `done` once.
    func proposeHere(_ shard: ShardID, _ command: ShardCommand, requestID: String, _ done: @escaping @Sendable (LocalProposal) -> Void) {
        let token = shards.token()
        do throws(ShardRefusal) {
            switch try shards.host.propose(shard: shard, requestID: Array(requestID.utf8), command: command.encoded(), token: token) {
            case let .alreadyApplied(_, reply): done(.applied(reply))
            case .proposed:
                shards.await(token, at: loop.now()) { outcome in
                    switch outcome {
                    case let .applied(_, reply): done(.applied(reply))
                    case .readable, .unknown: done(.reroute)
                    }
                }
                scheduleShardDrive()
            }
        } catch {
            switch error {
            case .notLeader, .notHosted, .leaderMoving: done(.reroute)
            case .overloaded, .rejected: done(.refused(error))
            }
        }
    }

    /// Proposes `command` to `shard` wherever its leader is — here, or through the internal
    /// API of the node that leads it (or knows who does) — retrying until `deadline`.
    /// `done(nil)` means the deadline passed without an answer.
    func proposeAnywhere(_ shard: ShardID, _ command: ShardCommand, requestID: String, deadline: Instant,
                         _ done: @escaping @Sendable ([UInt8]?) -> Void) {
        guard loop.now() < deadline, !exiting else { done(nil); return }
        let retry: @Sendable () -> Void = { [weak self] in
            guard let self else { return }
            _ = self.loop.schedule(after: .milliseconds(100)) { [weak self] in
                self?.proposeAnywhere(shard, command, requestID: requestID, deadline: deadline, done)
            }
        }
        if shards.host.isLeader(of: shard) {
            proposeHere(shard, command, requestID: requestID) { outcome in
                switch outcome {
                case let .applied(reply): done(reply)
                case .reroute, .refused: retry()
                }
            }
            return
        }
        guard let api = shards.host.leader(of: shard).flatMap({ shards.peers[$0]?.api }) ?? anyPlacementAPI(of: shard) else {
            retry()
            return
        }
        let body = command.encoded()
        let headers: HTTPHeaders = [Agent.requestIDHeader: requestID, "Content-Type": "application/octet-stream"]
        let started = outbound.start { [weak self] in
            let response = try? HTTPClient(peerName: "shard leader").request(method: .post, api, path: "/v1/internal/shards/\(shard.value)/propose",
                                                                             body: body, headers: headers, timeout: .seconds(3))
            _ = self?.loop.execute {
                if let response, response.status == 200 { done(response.body) } else { retry() }
            }
        }
        if !started { retry() }
    }

    /// The API of a live replica the placement names for `shard`, this node excluded.
    func anyPlacementAPI(of shard: ShardID) -> String? {
        let placement = (shards.placementMap ?? currentRing().shardMap).placement(shard)
        let apis = placement.replicas.compactMap { name -> String? in
            guard name != settings.name, let id = shards.idsByName[name], let peer = shards.peers[id], peer.live else { return nil }
            return peer.api
        }
        return apis.isEmpty ? nil : apis[Int.random(in: 0..<apis.count)]
    }

    // MARK: after every ready: leadership and notifications

    /// Follows leadership changes (leader clocks on, parked requests re-routed off) and
    /// answers parked acquires whose waits settled.
    func followLockEvents() {
        let now = loop.now()
        for (shard, leading) in shards.host.takeLeadershipChanges() {
            if leading, let table = shards.host.machine(of: shard)?.locks {
                do {
                    var clocks = LockService.LeaderClocks(leases: try SessionLeases(), waits: try WaitDeadlines())
                    let home = table.homeSessions()
                    clocks.leases.becameLeader(sessions: home, now: now)
                    clocks.waits.becameLeader(waits: table.allWaiters(), now: now)
                    clocks.tracked = Set(home.map(\.id))
                    clocks.reconciledAt = table.appliedIndex
                    locks.leaders[shard] = clocks
                } catch {
                    log.error("cannot start the lock clocks", ["shard": Int(shard.value), "error": "\(error)"])
                }
                if shard == LockService.detectorShard {
                    let term = shards.host.status(of: shard)?.term.value ?? 0
                    locks.detector = try? DeadlockDetector(firstEpoch: term << 32)
                }
            } else if !leading {
                locks.leaders[shard] = nil
                locks.echo[shard] = nil
                if shard == LockService.detectorShard { locks.detector = nil }
                rerouteParked(on: shard)
            }
        }
        let events = shards.host.takeEvents()
        guard !events.isEmpty else { return }
        for (shard, notification) in events {
            locks.leaders[shard]?.waits.forget(settledBy: [notification])
            let key = LockService.WaitKey(shard: shard, session: notification.session, name: notification.name, requestID: notification.requestID)
            guard let waiting = locks.parked.removeValue(forKey: key) else { continue }
            for p in waiting {
                switch notification {
                case let .granted(_, name, mode, _, token):
                    p.responder.respond(Agent.grantResponse(name: name, mode: mode, token: token))
                case let .waitFailed(_, _, _, reason):
                    p.responder.respond(Agent.waitFailedResponse(reason))
                }
            }
        }
    }

    private func rerouteParked(on shard: ShardID) {
        let keys = locks.parked.keys.filter { $0.shard == shard }
        for key in keys {
            for p in locks.parked.removeValue(forKey: key) ?? [] {
                // The new leader holds the wait (it is in the replicated table): the same
                // request id finds it there.
                let wait = Agent.bodyObject(p.request)?["wait_ms"]?.intValue ?? 0
                routeToLeader(p.request, shard: shard, patience: Agent.patience(UInt64(max(0, wait))), p.responder,
                              local: acquireOnLeader(shard: shard))
            }
        }
    }

    // MARK: the leader clocks, every shard tick

    func lockLeaderTick() {
        let now = loop.now()
        for shard in locks.leaders.keys.sorted() {
            guard var clocks = locks.leaders[shard] else { continue }
            // At most once a second: it walks every session and wait of the shard, and keep-alives
            // adopt a session the clocks miss on their own (Agent+LockAPI).
            if now - clocks.reconciledTime >= .seconds(1), let table = shards.host.machine(of: shard)?.locks,
               table.appliedIndex != clocks.reconciledAt {
                clocks.reconciledTime = now
                reconcile(&clocks, with: table, now: now)
            }
            let expired = clocks.leases.expired(at: now)
            let due = clocks.waits.due(at: now)
            locks.leaders[shard] = clocks
            for session in expired {
                locks.expiryProposals += 1
                log.info("session expired", ["session": session.description, "shard": Int(shard.value)])
                proposeHere(shard, .lock(.expireSession(session)), requestID: "expire-\(session)") { [weak self] outcome in
                    guard case .applied = outcome, let self else { return }
                    self.locks.leaders[shard]?.leases.forget(session)
                    self.dropEverywhere(session, except: shard)
                }
            }
            for wait in due {
                locks.timeoutProposals += 1
                proposeHere(shard, .lock(wait.cancel(.timeout)), requestID: "timeout-\(wait.session)-\(wait.requestID)") { _ in }
            }
        }
        if now - locks.lastReport >= .milliseconds(250) {
            locks.lastReport = now
            reportWaitEdges(now: now)
        }
        if now - locks.lastDetection >= .milliseconds(100), locks.detector != nil {
            locks.lastDetection = now
            runDetector(now: now)
        }
        if now - locks.lastAudit >= .seconds(2) {
            locks.lastAudit = now
            auditForeignSessions()
        }
    }

    /// The clocks adopt what the table holds and they do not (entries of earlier terms a new
    /// leader applied after it set them up; sessions opened through a retry's ledger answer),
    /// and forget sessions that ended.
    private func reconcile(_ clocks: inout LockService.LeaderClocks, with table: LockTable, now: Instant) {
        clocks.reconciledAt = table.appliedIndex
        let open = table.homeSessions()
        let openIDs = Set(open.map(\.id))
        for s in open where !clocks.tracked.contains(s.id) {
            clocks.leases.opened(s.id, ttlMillis: s.ttlMillis ?? 10_000, now: now)
            clocks.tracked.insert(s.id)
        }
        for s in clocks.tracked.sorted() where !openIDs.contains(s) {
            clocks.leases.forget(s)
            clocks.tracked.remove(s)
        }
        for w in table.allWaiters() where clocks.waits.deadline(of: w.name, session: w.session) == nil {
            clocks.waits.register(w.name, session: w.session, requestID: w.requestID, waitMillis: w.waitMillis, now: now)
        }
    }

    /// After a session ended on its home shard: drop it on every other shard (its holds and
    /// waits there end too). One call per node, not per shard: each node drops it on the
    /// shards it leads (`POST /v1/internal/sessions/{id}/drop`); after a second, shards no
    /// node covered are dropped one by one through their leaders (retried for a minute), and
    /// the audit catches whatever is still left.
    func dropEverywhere(_ session: SessionID, except home: ShardID) {
        let fanout = DropFanout(pending: Set((0..<settings.placement.shardCount).map { ShardID($0) }).subtracting([home]))
        for shard in fanout.pending.sorted() where shards.host.isLeader(of: shard) {
            locks.dropsSent += 1
            proposeHere(shard, .lock(.dropSession(session)), requestID: "drop-\(session)") { outcome in
                if case .applied = outcome { fanout.pending.remove(shard) }
            }
        }
        for api in shards.peers.values.filter({ $0.live && $0.sameShardSet }).compactMap(\.api).sorted() {
            locks.dropsSent += 1
            _ = outbound.start { [weak self] in
                let r = try? HTTPClient(peerName: "member").request(method: .post, api, path: "/v1/internal/sessions/\(session)/drop",
                                                                   body: [], timeout: .seconds(3))
                let covered = r.flatMap { r in r.status == 200 ? (try? JSONValue.parse(r.body))?.objectValue?["dropped"]?.arrayValue : nil }?
                    .compactMap(\.intValue) ?? []
                _ = self?.loop.execute { for s in covered { fanout.pending.remove(ShardID(s)) } }
            }
        }
        loop.schedule(after: .milliseconds(1_500)) { [weak self] in
            guard let self else { return }
            let deadline = self.loop.now() + .seconds(60)
            for shard in fanout.pending.sorted() {
                self.locks.dropsSent += 1
                self.proposeAnywhere(shard, .lock(.dropSession(session)), requestID: "drop-\(session)", deadline: deadline) { _ in }
            }
        }
    }

    /// On any node: drops `session` on every shard this node leads (but its home) and answers
    /// which shards applied it.
    func dropHere(_ session: SessionID, _ responder: HTTPResponder) {
        let led = shards.host.order.filter { shards.host.isLeader(of: $0) && Int($0.value) != Int(session.home) }
        let fanout = DropFanout(pending: Set(led))
        guard !led.isEmpty else {
            responder.respond(.json(200, ["dropped": [Int]()] as [String: Any]))
            return
        }
        for shard in led {
            proposeHere(shard, .lock(.dropSession(session)), requestID: "drop-\(session)") { outcome in
                if case .applied = outcome { fanout.done.append(Int(shard.value)) }
                fanout.pending.remove(shard)
                if fanout.pending.isEmpty { responder.respond(.json(200, ["dropped": fanout.done.sorted()] as [String: Any])) }
            }
        }
    }

    /// Every foreign session a shard led here knows (holds or waits) is checked with its
    /// home shard now and then; one the home no longer has is dropped here. This is what
    /// makes a lost `dropSession` harmless.
    private func auditForeignSessions() {
        let now = loop.now()
        locks.confirmed = locks.confirmed.filter { now - $0.value <= LockService.confirmationLife }
        for shard in locks.leaders.keys.sorted() {
            guard let table = shards.host.machine(of: shard)?.locks else { continue }
            for info in table.knownSessions() where info.ttlMillis == nil && Int(info.id.home) != Int(shard.value) {
                let session = info.id
                checkSession(session) { [weak self] state in
                    guard let self, state == .dead, self.shards.host.isLeader(of: shard) else { return }
                    self.proposeHere(shard, .lock(.dropSession(session)), requestID: "drop-\(session)") { _ in }
                }
            }
        }
    }

    /// Asks `session`'s home shard's leader what it knows of it (`.unknown` when no answer).
    func checkSession(_ session: SessionID, _ done: @escaping @Sendable (LockService.SessionState) -> Void) {
        let home = ShardID(Int(session.home))
        guard Int(session.home) < settings.placement.shardCount else { done(.dead); return }
        if shards.host.isLeader(of: home) {
            done(sessionState(session, home: home))
            return
        }
        guard let api = shards.host.leader(of: home).flatMap({ shards.peers[$0]?.api }) ?? anyPlacementAPI(of: home) else {
            done(.unknown)
            return
        }
        let started = outbound.start { [weak self] in
            let r = try? HTTPClient(peerName: "session home").request(api, path: "/v1/internal/sessions/\(session)", timeout: .seconds(2))
            let state = r.flatMap { r in
                r.status == 200 ? (try? JSONValue.parse(r.body))?.objectValue?["state"]?.stringValue.flatMap(LockService.SessionState.init) : nil
            } ?? .unknown
            _ = self?.loop.execute { done(state) }
        }
        if !started { done(.unknown) }
    }

    /// What the home shard's leader knows of `session`: alive (open, lease running),
    /// expiring (lease ran out), dead (a tombstone: committed), or unknown.
    func sessionState(_ session: SessionID, home: ShardID) -> LockService.SessionState {
        guard let table = shards.host.machine(of: home)?.locks else { return .unknown }
        if table.isDead(session) { return .dead }
        guard table.session(session)?.ttlMillis != nil else { return .unknown }
        guard let deadline = locks.leaders[home]?.leases.deadline(of: session) else { return .alive }
        return loop.now() < deadline ? .alive : .expiring
    }

    // MARK: deadlock detection

    /// Sends each led shard's wait-for edges to the detector (shard 0's leader).
    private func reportWaitEdges(now: Instant) {
        for shard in locks.leaders.keys.sorted() {
            guard let table = shards.host.machine(of: shard)?.locks else { continue }
            let edges = table.waitEdges()
            let echo = locks.echo[shard] ?? 0
            if locks.detector != nil {
                locks.detector?.report(shard: UInt16(truncatingIfNeeded: shard.value), edges: edges, epoch: echo, at: now)
                locks.echo[shard] = locks.detector?.epoch
                continue
            }
            if edges.isEmpty && echo == 0 { continue } // nothing waits here; an empty report changes nothing
            guard let api = shards.host.leader(of: LockService.detectorShard).flatMap({ shards.peers[$0]?.api }) else { continue }
            let body = Agent.encodeReport(shard: shard, edges: edges, epoch: echo)
            _ = outbound.start { [weak self] in
                let r = try? HTTPClient(peerName: "deadlock detector").request(method: .post, api, path: "/v1/internal/deadlock/report",
                                                                               body: body, timeout: .seconds(1))
                guard let r, r.status == 200, let object = try? JSONValue.parse(r.body).objectValue,
                      let epoch = object["epoch"]?.intValue else { return }
                _ = self?.loop.execute { [weak self] in
                    if self?.locks.leaders[shard] != nil { self?.locks.echo[shard] = UInt64(epoch) }
                }
            }
        }
    }

    private func runDetector(now: Instant) {
        guard var detector = locks.detector else { return }
        let round = detector.detect(at: now)
        locks.detector = detector
        for victim in round.victims {
            locks.deadlockVictims += 1
            log.info("deadlock: failing the youngest session's wait", ["victim": victim.description])
            proposeAnywhere(ShardID(Int(victim.shard)), .lock(victim.cancel), requestID: "deadlock-\(victim.session)-\(victim.requestID)",
                            deadline: now + .seconds(5)) { _ in }
        }
    }

    static func encodeReport(shard: ShardID, edges: [WaitEdge], epoch: UInt64) -> [UInt8] {
        let list: [[String: Any]] = edges.map {
            ["waiter": $0.waiter.description, "blocker": $0.blocker.description, "name": $0.name.text, "request_id": $0.requestID.text]
        }
        let object: [String: Any] = ["shard": Int(shard.value), "epoch": epoch, "edges": list]
        return (try? JSONSerialization.data(withJSONObject: object)).map { Array($0) } ?? []
    }

    static func decodeReport(_ body: [UInt8]) -> (shard: UInt16, epoch: UInt64, edges: [WaitEdge])? {
        guard let object = try? JSONValue.parse(body).objectValue, let shard = object["shard"]?.intValue,
              shard >= 0, shard < 65_536, let epoch = object["epoch"]?.intValue, epoch >= 0,
              let list = object["edges"]?.arrayValue, list.count <= 100_000 else { return nil }
        var edges: [WaitEdge] = []
        for item in list {
            guard let e = item.objectValue, let w = e["waiter"]?.stringValue, let b = e["blocker"]?.stringValue,
                  let n = e["name"]?.stringValue, let q = e["request_id"]?.stringValue,
                  let waiter = try? SessionID(parsing: w), let blocker = try? SessionID(parsing: b),
                  let name = try? LockName(n), let id = try? RequestID(q) else { return nil }
            edges.append(WaitEdge(waiter: waiter, blocker: blocker, name: name, requestID: id))
        }
        return (UInt16(shard), UInt64(epoch), edges)
    }

    // MARK: internal endpoints (node to node)

    func addInternalLockRoutes(to router: HTTPRouter) {
        router.post("/v1/internal/shards/{shard}/propose") { [unowned self] request, responder in
            guard let text = request.pathParameters["shard"], let s = Int(text), s >= 0, s < self.settings.placement.shardCount,
                  let command = try? ShardCommand(decoding: request.body) else {
                responder.respond(.error(400, code: "invalid_request", message: "shard or command unreadable"))
                return
            }
            let shard = ShardID(s)
            let handler: ShardHandler = { [unowned self] request, responder, _ in
                self.proposeHere(shard, command, requestID: request.headers[Agent.requestIDHeader] ?? "") { outcome in
                    switch outcome {
                    case let .applied(reply): responder.respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], body: reply))
                    case .reroute: responder.respond(.error(503, code: "no_leader", message: "leadership moved; retry"))
                    case let .refused(e): responder.respond(.error(503, code: "overloaded", message: e.description))
                    }
                }
            }
            self.routeToLeader(request, shard: shard, responder, local: handler)
        }
        router.get("/v1/internal/sessions/{id}") { [unowned self] request, responder in
            guard let text = request.pathParameters["id"], let session = try? SessionID(parsing: text),
                  Int(session.home) < self.settings.placement.shardCount else {
                responder.respond(.error(400, code: "invalid_session", message: "unreadable session id"))
                return
            }
            let home = ShardID(Int(session.home))
            self.routeToLeader(request, shard: home, responder) { [unowned self] _, responder, _ in
                responder.respond(.json(200, ["state": self.sessionState(session, home: home).rawValue] as [String: Any]))
            }
        }
        router.post("/v1/internal/sessions/{id}/drop") { [unowned self] request, responder in
            guard let text = request.pathParameters["id"], let session = try? SessionID(parsing: text) else {
                responder.respond(.error(400, code: "invalid_session", message: "unreadable session id"))
                return
            }
            self.dropHere(session, responder)
        }
        router.post("/v1/internal/deadlock/report") { [unowned self] request, responder in
            guard let report = Agent.decodeReport(request.body) else {
                responder.respond(.error(400, code: "invalid_request", message: "unreadable report"))
                return
            }
            guard self.locks.detector != nil else {
                responder.respond(.error(421, code: "not_leader", message: "not the deadlock detector"))
                return
            }
            self.locks.detector?.report(shard: report.shard, edges: report.edges, epoch: report.epoch, at: self.loop.now())
            responder.respond(.json(200, ["epoch": self.locks.detector?.epoch ?? 0] as [String: Any]))
        }
    }
}

/// The shards a session drop has not reached yet (loop thread only).
final class DropFanout: @unchecked Sendable {
    var pending: Set<ShardID>
    /// Shards that applied the drop (for the answer of `dropHere`).
    var done: [Int] = []
    init(pending: Set<ShardID>) { self.pending = pending }
}
