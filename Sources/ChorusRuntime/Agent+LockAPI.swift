import ChorusBase
import ChorusLocks
import ChorusRing
import ChorusShards
import Dispatch
import Foundation
import Synchronization

// The lock service's HTTP API (docs/api.md): sessions, acquire, release, status, listing.
// Every request may reach any node; it is routed to the leader of the shard that owns it
// (the session's home shard, or the lock name's shard).
extension Agent {

    func addLockRoutes(to router: HTTPRouter) {
        router.post("/v1/sessions") { [unowned self] request, responder in self.openSession(request, responder) }
        router.post("/v1/sessions/{id}/keepalive") { [unowned self] request, responder in self.keepAlive(request, responder) }
        router.delete("/v1/sessions/{id}") { [unowned self] request, responder in self.closeSession(request, responder) }
        router.post("/v1/locks/{name}/acquire") { [unowned self] request, responder in self.acquire(request, responder) }
        router.post("/v1/locks/{name}/release") { [unowned self] request, responder in self.release(request, responder) }
        router.get("/v1/locks/{name}") { [unowned self] request, responder in self.lockStatus(request, responder) }
        router.get("/v1/locks") { [unowned self] request, responder in self.lockList(request, responder) }
    }

    // MARK: input

    /// The request's JSON object body ({} when empty), or nil when it is not one.
    static func bodyObject(_ request: HTTPRequest) -> [String: JSONValue]? {
        if request.body.isEmpty { return [:] }
        return (try? JSONValue.parse(request.body))?.objectValue
    }

    static func invalid(_ message: String) -> HTTPResponse { .error(400, code: "invalid_request", message: message) }

    var shardMap: ShardMap { shards.placementMap ?? currentRing().shardMap }

    func lockShard(_ name: LockName) -> ShardID { shardMap.shard(forKey: name.text) }

    // MARK: sessions

    private func openSession(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let body = Agent.bodyObject(request), let ttl = body["ttl_ms"]?.intValue, ttl > 0 else {
            responder.respond(Agent.invalid("body must be {\"ttl_ms\": N} with N > 0"))
            return
        }
        var request = request
        if let id = body["request_id"]?.stringValue, !id.isEmpty {
            guard Agent.isUsableRequestID(id) else { responder.respond(Agent.invalid("request_id must be 1...128 bytes without control characters")); return }
            request.headers.set(Agent.requestIDHeader, id)
        }
        guard let requestID = Agent.requestID(of: request) else {
            responder.respond(Agent.invalid("request_id must be 1...128 bytes without control characters"))
            return
        }
        request.headers.set(Agent.requestIDHeader, requestID)
        // The home shard follows from the request id, so a retry lands on the same shard.
        let home = shardMap.shard(forKey: "session/" + requestID)
        routeToLeader(request, shard: home, responder, local: openSessionOnLeader(home: home, ttl: UInt64(ttl), requestID: requestID))
    }

    /// The open as the home shard's leader carries it out; if leadership moves before the
    /// outcome is known, the same request (same request id) is routed again, within the same
    /// deadline.
    private func openSessionOnLeader(home: ShardID, ttl: UInt64, requestID: String) -> ShardHandler {
        { [unowned self] request, responder, deadline in
            guard let id = try? RequestID(requestID) else { responder.respond(Agent.invalid("bad request id")); return }
            let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
            let again = self.openSessionOnLeader(home: home, ttl: ttl, requestID: requestID)
            self.proposeHere(home, .lock(.openSession(ttlMillis: ttl, openedAtMillis: now, requestID: id)), requestID: requestID) { outcome in
                switch outcome {
                case let .applied(bytes):
                    switch try? LockCodec.decodeReply(bytes) {
                    case let .sessionOpened(session)?:
                        if self.locks.leaders[home]?.tracked.contains(session) == false {
                            self.locks.leaders[home]?.leases.opened(session, ttlMillis: ttl, now: self.loop.now())
                            self.locks.leaders[home]?.tracked.insert(session)
                        }
                        responder.respond(.json(200, ["id": session.description, "ttl_ms": ttl] as [String: Any]))
                    case let reply?: responder.respond(Agent.lockReplyResponse(reply))
                    case nil: responder.respond(.error(500, code: "internal", message: "unreadable reply"))
                    }
                case .reroute: self.routeToLeader(request, shard: home, deadline: deadline, responder, local: again)
                case let .refused(e): responder.respond(.error(503, code: "overloaded", message: e.description))
                }
            }
        }
    }

    private func sessionID(_ request: HTTPRequest) -> SessionID? {
        guard let text = request.pathParameters["id"], let id = try? SessionID(parsing: text),
              Int(id.home) < settings.placement.shardCount else { return nil }
        return id
    }

    private func keepAlive(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let session = sessionID(request) else { responder.respond(Agent.invalid("unreadable session id")); return }
        let home = ShardID(Int(session.home))
        routeToLeader(request, shard: home, responder) { [unowned self] _, responder, _ in
            let now = self.loop.now()
            let ttl = self.shards.host.machine(of: home)?.locks.session(session)?.ttlMillis
            if let ttl, var clocks = self.locks.leaders[home], !clocks.tracked.contains(session) {
                // Open in the table but not yet in the clocks (applied after they were set up).
                clocks.leases.opened(session, ttlMillis: ttl, now: now)
                clocks.tracked.insert(session)
                self.locks.leaders[home] = clocks
            }
            guard let ttl, self.locks.leaders[home]?.leases.keepAlive(session, now: now) == true else {
                responder.respond(.error(404, code: "session_expired", message: "session \(session) has expired or was closed"))
                return
            }
            responder.respond(.json(200, ["id": session.description, "ttl_ms": ttl] as [String: Any]))
        }
    }

    private func closeSession(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let session = sessionID(request) else { responder.respond(Agent.invalid("unreadable session id")); return }
        let home = ShardID(Int(session.home))
        routeToLeader(request, shard: home, responder, local: closeSessionOnLeader(session, home: home))
    }

    private func closeSessionOnLeader(_ session: SessionID, home: ShardID) -> ShardHandler {
        { [unowned self] request, responder, deadline in
            let requestID = request.headers[Agent.requestIDHeader] ?? "close-\(session)"
            guard let id = try? RequestID(requestID) else { responder.respond(Agent.invalid("bad request id")); return }
            let again = self.closeSessionOnLeader(session, home: home)
            self.proposeHere(home, .lock(.closeSession(session, requestID: id)), requestID: requestID) { outcome in
                switch outcome {
                case let .applied(bytes):
                    let reply = try? LockCodec.decodeReply(bytes)
                    if case .sessionEnded? = reply {
                        self.locks.leaders[home]?.leases.forget(session)
                        self.dropEverywhere(session, except: home)
                        responder.respond(.json(200, ["id": session.description, "closed": true] as [String: Any]))
                    } else {
                        responder.respond(reply.map(Agent.lockReplyResponse) ?? .error(500, code: "internal", message: "unreadable reply"))
                    }
                case .reroute: self.routeToLeader(request, shard: home, deadline: deadline, responder, local: again)
                case let .refused(e): responder.respond(.error(503, code: "overloaded", message: e.description))
                }
            }
        }
    }

    // MARK: acquire and release

    /// The parts of an acquire or release request.
    struct LockRequest {
        var name: LockName
        var session: SessionID
        var mode: LockMode
        var waitMillis: UInt64
        var requestID: RequestID
    }

    /// Reads name, session, mode and wait from the request; the error response otherwise.
    func lockRequest(_ request: HTTPRequest) -> Result<LockRequest, Rejection> {
        guard let text = request.pathParameters["name"], let name = try? LockName(text) else {
            return .failure(Rejection(response: Agent.invalid("lock name must be 1...\(LockName.maxBytes) bytes without control characters")))
        }
        guard let body = Agent.bodyObject(request) else { return .failure(Rejection(response: Agent.invalid("body must be a JSON object"))) }
        guard let s = body["session"]?.stringValue, let session = try? SessionID(parsing: s),
              Int(session.home) < settings.placement.shardCount else {
            return .failure(Rejection(response: Agent.invalid("\"session\" must be a session id from POST /v1/sessions")))
        }
        var mode = LockMode.exclusive
        switch body["mode"]?.stringValue {
        case nil, "exclusive"?: mode = .exclusive
        case "shared"?: mode = .shared
        case let other?: return .failure(Rejection(response: Agent.invalid("mode must be exclusive or shared, got \"\(other.prefix(40))\"")))
        }
        var wait: UInt64 = 0
        if let w = body["wait_ms"] {
            guard let n = w.intValue, n >= 0 else { return .failure(Rejection(response: Agent.invalid("wait_ms must be a non-negative integer"))) }
            wait = UInt64(n)
        }
        let given = body["request_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? request.headers[Agent.requestIDHeader]
        guard let idText = given ?? Agent.requestID(of: request), Agent.isUsableRequestID(idText), let id = try? RequestID(idText) else {
            return .failure(Rejection(response: Agent.invalid("request_id must be 1...128 bytes without control characters")))
        }
        return .success(LockRequest(name: name, session: session, mode: mode, waitMillis: wait, requestID: id))
    }

    private func acquire(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch lockRequest(request) {
        case let .failure(rejection): responder.respond(rejection.response)
        case let .success(r):
            var request = request
            request.headers.set(Agent.requestIDHeader, r.requestID.text) // every hop and retry uses the same id
            let shard = lockShard(r.name)
            routeToLeader(request, shard: shard, patience: Agent.patience(r.waitMillis), responder, local: acquireOnLeader(shard: shard))
        }
    }

    /// The acquire as the lock shard's leader carries it out: a session of another shard is
    /// first confirmed alive with its home (cached for a second), then the acquire is
    /// proposed; a queued request is parked until its wait settles.
    func acquireOnLeader(shard: ShardID) -> ShardHandler {
        { [unowned self] request, responder, _ in
            guard case let .success(r) = self.lockRequest(request) else { responder.respond(Agent.invalid("unreadable acquire")); return }
            let now = self.loop.now()
            if Int(r.session.home) != Int(shard.value), (self.locks.confirmed[r.session].map { now - $0 > LockService.confirmationLife } ?? true) {
                self.checkSession(r.session) { [unowned self] state in
                    switch state {
                    case .alive:
                        self.locks.confirmed[r.session] = self.loop.now()
                        self.proposeAcquire(r, shard: shard, request: request, responder)
                    case .expiring, .dead:
                        self.locks.confirmed[r.session] = nil
                        responder.respond(Agent.waitFailedResponse(.sessionExpired))
                    case .unknown:
                        responder.respond(.error(503, code: "unavailable", message: "the session's home shard cannot confirm it yet; retry"))
                    }
                }
                return
            }
            self.proposeAcquire(r, shard: shard, request: request, responder)
        }
    }

    private func proposeAcquire(_ r: LockRequest, shard: ShardID, request: HTTPRequest, _ responder: HTTPResponder) {
        let command = LockCommand.acquire(name: r.name, session: r.session, mode: r.mode, waitMillis: r.waitMillis, requestID: r.requestID)
        proposeHere(shard, .lock(command), requestID: "acquire-\(r.session)-\(r.requestID)") { [unowned self] outcome in
            switch outcome {
            case let .applied(bytes):
                guard let reply = try? LockCodec.decodeReply(bytes) else {
                    responder.respond(.error(500, code: "internal", message: "unreadable reply"))
                    return
                }
                if case .waiting = reply {
                    let key = LockService.WaitKey(shard: shard, session: r.session, name: r.name, requestID: r.requestID)
                    self.locks.parked[key, default: []].append(.init(request: request, responder: responder, mode: r.mode))
                    if self.locks.leaders[shard]?.waits.deadline(of: r.name, session: r.session) == nil {
                        self.locks.leaders[shard]?.waits.register(r.name, session: r.session, requestID: r.requestID,
                                                                   waitMillis: r.waitMillis, now: self.loop.now())
                    }
                    return
                }
                responder.respond(Agent.lockReplyResponse(reply))
            case .reroute:
                self.routeToLeader(request, shard: shard, patience: Agent.patience(r.waitMillis), responder, local: self.acquireOnLeader(shard: shard))
            case let .refused(e):
                responder.respond(.error(503, code: "overloaded", message: e.description))
            }
        }
    }

    private func release(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch lockRequest(request) {
        case let .failure(rejection): responder.respond(rejection.response)
        case let .success(r):
            var request = request
            request.headers.set(Agent.requestIDHeader, r.requestID.text)
            let shard = lockShard(r.name)
            routeToLeader(request, shard: shard, responder, local: releaseOnLeader(shard: shard))
        }
    }

    private func releaseOnLeader(shard: ShardID) -> ShardHandler {
        { [unowned self] request, responder, _ in
            guard case let .success(r) = self.lockRequest(request) else { responder.respond(Agent.invalid("unreadable release")); return }
            self.proposeHere(shard, .lock(.release(name: r.name, session: r.session, requestID: r.requestID)),
                             requestID: "release-\(r.session)-\(r.requestID)") { [unowned self] outcome in
                switch outcome {
                case let .applied(bytes):
                    responder.respond((try? LockCodec.decodeReply(bytes)).map(Agent.lockReplyResponse)
                                      ?? .error(500, code: "internal", message: "unreadable reply"))
                case .reroute: self.routeToLeader(request, shard: shard, responder, local: self.releaseOnLeader(shard: shard))
                case let .refused(e): responder.respond(.error(503, code: "overloaded", message: e.description))
                }
            }
        }
    }

    /// How long past routing an acquire may wait for its answer: its wait, capped at a day.
    static func patience(_ waitMillis: UInt64) -> Interval { .milliseconds(Int64(min(waitMillis, 86_400_000))) }

    // MARK: replies

    static func grantResponse(name: LockName, mode: LockMode, token: FencingToken) -> HTTPResponse {
        .json(200, ["name": name.text, "mode": mode == .shared ? "shared" : "exclusive", "token": token.value] as [String: Any])
    }

    static func waitFailedResponse(_ reason: WaitFailure) -> HTTPResponse {
        switch reason {
        case .timeout: return .error(409, code: "timeout", message: "the lock was not granted before the wait ran out")
        case .deadlock: return .error(409, code: "deadlock", message: "this wait closed a cycle of waits; it was chosen to break it")
        case .sessionExpired: return .error(409, code: "session_expired", message: "the session has expired or was closed")
        case .withdrawn: return .error(409, code: "withdrawn", message: "the session released the lock while this request waited")
        }
    }

    static func lockReplyResponse(_ reply: LockReply) -> HTTPResponse {
        switch reply {
        case let .granted(name, mode, token): return grantResponse(name: name, mode: mode, token: token)
        case .busy: return .error(409, code: "timeout", message: "the lock is held (wait_ms 0: not queued)")
        case .sessionExpired: return waitFailedResponse(.sessionExpired)
        case let .waitFailed(reason): return waitFailedResponse(reason)
        case .released: return .json(200, ["released": true] as [String: Any])
        case .notHeld: return .error(409, code: "not_held", message: "the session neither holds nor waits for this lock")
        case .sessionEnded: return .json(200, ["closed": true] as [String: Any])
        case let .invalid(why): return invalid(why)
        case .waiting, .waitCancelled, .notWaiting, .sessionOpened:
            return .error(500, code: "internal", message: "unexpected reply \(reply)")
        }
    }

    // MARK: status and listing

    static func lockJSON(_ name: LockName, _ table: LockTable) -> [String: Any] {
        let holders: [[String: Any]] = table.holders(of: name).map {
            ["session": $0.session.description, "mode": $0.mode == .shared ? "shared" : "exclusive", "token": $0.token.value]
        }
        let waiters: [[String: Any]] = table.waiters(of: name).map {
            ["session": $0.session.description, "mode": $0.mode == .shared ? "shared" : "exclusive", "request_id": $0.requestID.text]
        }
        return ["name": name.text, "holders": holders, "waiters": waiters]
    }

    /// A linearizable read of one lock on its shard's leader.
    private func lockStatus(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let text = request.pathParameters["name"], let name = try? LockName(text) else {
            responder.respond(Agent.invalid("lock name must be 1...\(LockName.maxBytes) bytes without control characters"))
            return
        }
        let shard = lockShard(name)
        routeToLeader(request, shard: shard, responder, local: statusOnLeader(name: name, shard: shard))
    }

    private func statusOnLeader(name: LockName, shard: ShardID) -> ShardHandler {
        { [unowned self] request, responder, deadline in
            let token = self.shards.token()
            let again = self.statusOnLeader(name: name, shard: shard)
            do throws(ShardRefusal) { try self.shards.host.read(shard: shard, token: token) } catch {
                self.refused(error, request: request, shard: shard, deadline: deadline, responder, local: again)
                return
            }
            self.shards.await(token, at: self.loop.now()) { [unowned self] outcome in
                guard case .readable = outcome, let table = self.shards.host.machine(of: shard)?.locks else {
                    self.routeToLeader(request, shard: shard, deadline: deadline, responder, local: again)
                    return
                }
                responder.respond(.json(200, Agent.lockJSON(name, table)))
            }
            self.scheduleShardDrive()
        }
    }

    /// Locks whose names start with `prefix`, held or waited for, from every shard's leader
    /// (each node lists the shards it leads; `?local=1` asks one node only). Not
    /// linearizable: a snapshot of each leader's applied state.
    private func lockList(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let prefix = request.query("prefix") ?? ""
        var local: [[String: Any]] = []
        for shard in locks.leaders.keys.sorted() {
            guard let table = shards.host.machine(of: shard)?.locks else { continue }
            for name in table.names(withPrefix: prefix) { local.append(Agent.lockJSON(name, table)) }
        }
        if request.query("local") == "1" {
            responder.respond(HTTPResponse.jsonArray(200, local))
            return
        }
        let path = "/v1/locks?local=1&prefix=" + (prefix.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let mine = (try? JSONSerialization.data(withJSONObject: local)).map { Array($0) } ?? []
        askEveryLiveMember(path) { bodies in
            // Each shard is led by one node, so a name appears once; keep the last if a
            // leadership change made two nodes list it.
            var byName: [String: Any] = [:]
            for body in [mine] + bodies {
                for object in (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? [] {
                    if let name = object["name"] as? String { byName[name] = object }
                }
            }
            let rows = byName.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.compactMap { byName[$0] }
            responder.respond(HTTPResponse.jsonArray(200, rows))
        }
    }
}

/// A request refused before it reached a shard, with the answer to give.
struct Rejection: Error {
    let response: HTTPResponse
}

extension HTTPResponse {
    /// A JSON array body of JSON-compatible values (keys sorted).
    static func jsonArray(_ status: Int, _ items: [Any]) -> HTTPResponse {
        guard JSONSerialization.isValidJSONObject(items),
              let data = try? JSONSerialization.data(withJSONObject: items, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return .error(500, code: "encoding_failed", message: "response is not valid JSON")
        }
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
    }
}
