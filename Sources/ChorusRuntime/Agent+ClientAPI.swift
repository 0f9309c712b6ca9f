import ChorusBase
import ChorusLocks
import ChorusNode
import ChorusRing
import ChorusShards
import Foundation

// The client front door (docs/api.md): each HTTP request is parsed into a typed
// `ClientRequest` and handed to the node; the node's `ClientReply` is rendered back as JSON.
// Nothing here decides where a request goes or how it is served.
extension Agent {
    static let requestIDHeader = "X-Chorus-Request-Id"

    func addShardRoutes(to router: HTTPRouter) {
        router.get("/v1/shards") { [unowned self] request, responder in
            guard let local = Agent.queryFlag(request.query("local")) else { responder.respond(Agent.invalidFlag("local")); return }
            self.submit(.shardList(localOnly: local), responder)
        }
        router.get("/v1/kv/{key}") { [unowned self] request, responder in
            guard let key = Agent.kvKey(request) else { responder.respond(Agent.invalidKey); return }
            self.submit(.kvGet(key: key), responder)
        }
        router.put("/v1/kv/{key}") { [unowned self] request, responder in self.kvWrite(request, responder) }
        router.delete("/v1/kv/{key}") { [unowned self] request, responder in self.kvWrite(request, responder) }
        router.post("/v1/sessions") { [unowned self] request, responder in self.openSession(request, responder) }
        router.post("/v1/sessions/{id}/keepalive") { [unowned self] request, responder in
            guard let session = self.sessionID(request) else { responder.respond(Agent.invalid("unreadable session id")); return }
            self.submit(.keepAlive(session), responder, present: Agent.presentKeepAlive)
        }
        router.delete("/v1/sessions/{id}") { [unowned self] request, responder in
            guard let session = self.sessionID(request) else { responder.respond(Agent.invalid("unreadable session id")); return }
            switch self.requestID(request, body: nil) {
            case let .success(id): self.submit(.closeSession(session, requestID: id), responder)
            case let .failure(rejection): responder.respond(rejection.response)
            }
        }
        router.post("/v1/locks/{name}/acquire") { [unowned self] request, responder in self.lockCommand(request, responder, acquire: true) }
        router.post("/v1/locks/{name}/release") { [unowned self] request, responder in self.lockCommand(request, responder, acquire: false) }
        router.get("/v1/locks/{name}") { [unowned self] request, responder in
            guard let text = request.pathParameters["name"], let name = try? LockName(text) else {
                responder.respond(Agent.invalid("lock name must be 1...\(LockName.maxBytes) bytes without control characters"))
                return
            }
            self.submit(.lockStatus(name), responder)
        }
        router.get("/v1/locks") { [unowned self] request, responder in
            let prefix = request.query("prefix") ?? ""
            guard prefix.utf8.count <= ClientRequest.maxPrefixBytes else {
                responder.respond(Agent.invalid("prefix longer than \(ClientRequest.maxPrefixBytes) bytes"))
                return
            }
            guard let local = Agent.queryFlag(request.query("local")) else { responder.respond(Agent.invalidFlag("local")); return }
            self.submit(.lockList(prefix: prefix, localOnly: local), responder)
        }
    }

    // MARK: parsing

    static func invalid(_ message: String) -> HTTPResponse { .error(400, code: "invalid_request", message: message) }
    static let invalidKey = HTTPResponse.error(400, code: "invalid_key", message: "key must be 1...\(ShardCommand.maxKeyBytes) bytes")
    static let badRequestID = "request_id must be 1...\(CommandEnvelope.maxRequestIDBytes) bytes without control characters"

    /// The request's JSON object body ({} when empty), or nil when it is not one.
    static func bodyObject(_ request: HTTPRequest) -> [String: JSONValue]? {
        if request.body.isEmpty { return [:] }
        return (try? JSONValue.parse(request.body))?.objectValue
    }

    /// A yes/no query item: absent, `0` or `false` is no, `1` or `true` is yes; nil for
    /// anything else, so a misspelt value is refused rather than read as no.
    static func queryFlag(_ text: String?) -> Bool? {
        switch text {
        case nil, "0"?, "false"?: return false
        case "1"?, "true"?: return true
        case .some: return nil
        }
    }

    static func invalidFlag(_ name: String) -> HTTPResponse { invalid("\(name) must be 1 or 0 (true or false)") }

    static func kvKey(_ request: HTTPRequest) -> [UInt8]? {
        guard let key = request.pathParameters["key"], !key.isEmpty, key.utf8.count <= ShardCommand.maxKeyBytes else { return nil }
        return Array(key.utf8)
    }

    /// 1…128 bytes of UTF-8 without control characters.
    static func isUsableRequestID(_ id: String) -> Bool {
        let n = id.utf8.count
        return n >= 1 && n <= CommandEnvelope.maxRequestIDBytes
            && id.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control }
    }

    /// The client's request id (body `request_id`, then the `request_id` query item, then the
    /// header), or a fresh one from the node when the client gave none.
    func requestID(_ request: HTTPRequest, body: [String: JSONValue]?) -> Result<RequestID, Rejection> {
        if let field = body?["request_id"], field.stringValue == nil {
            return .failure(Rejection(response: Agent.invalid("request_id must be a string, got \(field.typeName)")))
        }
        let given = body?["request_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            ?? request.query("request_id").flatMap { $0.isEmpty ? nil : $0 }
            ?? request.headers[Agent.requestIDHeader].flatMap { $0.isEmpty ? nil : $0 }
        let text = given ?? shards.node.newRequestID()
        guard Agent.isUsableRequestID(text), let id = try? RequestID(text) else {
            return .failure(Rejection(response: Agent.invalid(Agent.badRequestID)))
        }
        return .success(id)
    }

    func sessionID(_ request: HTTPRequest) -> SessionID? {
        guard let text = request.pathParameters["id"], let id = try? SessionID(parsing: text),
              Int(id.home) < settings.placement.shardCount else { return nil }
        return id
    }

    private func kvWrite(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let key = Agent.kvKey(request) else { responder.respond(Agent.invalidKey); return }
        var id: [UInt8] = []
        if let given = request.query("request_id") ?? request.headers[Agent.requestIDHeader], !given.isEmpty {
            guard Agent.isUsableRequestID(given) else { responder.respond(.error(400, code: "invalid_request", message: Agent.badRequestID)); return }
            id = Array(given.utf8)
        }
        if request.method == .delete {
            submit(.kvDelete(key: key, requestID: id), responder)
        } else {
            guard request.body.count <= ShardCommand.maxValueBytes else {
                responder.respond(.error(413, code: "too_large", message: "values are limited to \(ShardCommand.maxValueBytes) bytes"))
                return
            }
            submit(.kvPut(key: key, value: request.body, requestID: id), responder)
        }
    }

    private func openSession(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let body = Agent.bodyObject(request), let ttl = body["ttl_ms"]?.intValue, ttl > 0 else {
            responder.respond(Agent.invalid("body must be {\"ttl_ms\": N} with N > 0"))
            return
        }
        switch requestID(request, body: body) {
        case let .success(id): submit(.openSession(ttlMillis: UInt64(ttl), requestID: id), responder)
        case let .failure(rejection): responder.respond(rejection.response)
        }
    }

    /// An acquire or a release: name, session, mode, wait and request id.
    private func lockCommand(_ request: HTTPRequest, _ responder: HTTPResponder, acquire: Bool) {
        guard let text = request.pathParameters["name"], let name = try? LockName(text) else {
            responder.respond(Agent.invalid("lock name must be 1...\(LockName.maxBytes) bytes without control characters"))
            return
        }
        guard let body = Agent.bodyObject(request) else { responder.respond(Agent.invalid("body must be a JSON object")); return }
        guard let s = body["session"]?.stringValue, let session = try? SessionID(parsing: s),
              Int(session.home) < settings.placement.shardCount else {
            responder.respond(Agent.invalid("\"session\" must be a session id from POST /v1/sessions"))
            return
        }
        var mode = LockMode.exclusive
        switch body["mode"] {
        case nil, .string("exclusive")?: mode = .exclusive
        case .string("shared")?: mode = .shared
        case let other?:
            let shown = other.stringValue.map { "\"\($0.prefix(40))\"" } ?? other.typeName
            responder.respond(Agent.invalid("mode must be exclusive or shared, got \(shown)"))
            return
        }
        var wait: UInt64 = 0
        if let w = body["wait_ms"] {
            guard let n = w.intValue, n >= 0 else { responder.respond(Agent.invalid("wait_ms must be a non-negative integer")); return }
            wait = min(UInt64(n), ClientRequest.maxWaitMillis)
        }
        let id: RequestID
        switch requestID(request, body: body) {
        case let .success(given): id = given
        case let .failure(rejection): responder.respond(rejection.response); return
        }
        if acquire {
            let started = loop.now()
            submit(.acquire(name: name, session: session, mode: mode, waitMillis: wait, requestID: id), responder, present: { [unowned self] reply in
                self.lockMetrics.observe(reply, seconds: (self.loop.now() - started).seconds)
                return Agent.present(reply)
            })
        } else {
            submit(.release(name: name, session: session, requestID: id), responder)
        }
    }

    // MARK: presenting

    /// The HTTP form of a reply (docs/api.md).
    static func present(_ reply: ClientReply) -> HTTPResponse {
        switch reply {
        case let .kvWritten(key, shard, index):
            return .json(200, ["key": String(decoding: key, as: UTF8.self), "shard": Int(shard.value), "index": index] as [String: Any])
        case let .kvValue(key, shard, value):
            var body: [String: Any] = ["key": String(decoding: key, as: UTF8.self), "shard": Int(shard.value)]
            if let text = String(validating: value, as: UTF8.self) { body["value"] = text } else { body["value_base64"] = Data(value).base64EncodedString() }
            return .json(200, body)
        case let .sessionOpened(id, ttl), let .sessionAlive(id, ttl):
            return .json(200, ["id": id.description, "ttl_ms": ttl] as [String: Any])
        case let .sessionClosed(id):
            return .json(200, ["id": id.description, "closed": true] as [String: Any])
        case let .granted(name, mode, token):
            return .json(200, ["name": name.text, "mode": mode.description, "token": token.value] as [String: Any])
        case .released:
            return .json(200, ["released": true] as [String: Any])
        case let .lock(view):
            return .json(200, lockJSON(view))
        case let .locks(views):
            return .jsonArray(200, views.map(lockJSON))
        case let .shards(reports):
            return .json(200, reports.map { r in
                ShardView(shard: r.shard, replicas: r.voters, learners: r.learners, leader: r.leader, term: r.term,
                          commitIndex: r.commitIndex, appliedIndex: r.appliedIndex, reportedBy: r.reportedBy)
            })
        case let .failure(f):
            return present(f)
        case .queueCatalogue, .queues, .queue, .queuePublished, .queueDelivered, .queueSettled, .queueStatistics, .queueCount,
             .queuePartitionReply, .queuePartitionStats, .queuePartitionDeadLetters, .queueDeadLetters:
            return presentQueue(reply)
        case .cacheValue, .cacheWritten, .cacheInteger, .cacheStatistics:
            return presentCache(reply)
        }
    }

    /// A keep-alive's failure to find the session is a 404 (the session is gone).
    static func presentKeepAlive(_ reply: ClientReply) -> HTTPResponse {
        if case let .failure(f) = reply, f.code == .sessionExpired {
            return .error(404, code: "session_expired", message: "the session has expired or was closed")
        }
        return present(reply)
    }

    static func present(_ f: ClientFailure) -> HTTPResponse {
        switch f.code {
        case .invalidRequest: return .error(400, code: "invalid_request", message: f.message)
        case .notFound: return .error(404, code: "not_found", message: f.message)
        case .sessionExpired: return .error(409, code: "session_expired", message: f.message)
        case .timeout: return .error(409, code: "timeout", message: f.message)
        case .deadlock: return .error(409, code: "deadlock", message: f.message)
        case .withdrawn: return .error(409, code: "withdrawn", message: f.message)
        case .notHeld: return .error(409, code: "not_held", message: f.message)
        case .noLeader: return .error(503, code: "no_leader", message: f.message)
        case .overloaded: return .error(503, code: "overloaded", message: f.message)
        case .unavailable: return .error(503, code: "unavailable", message: f.message)
        case .rejected: return .error(400, code: "rejected", message: f.message)
        case .internal: return .error(500, code: "internal", message: f.message)
        case .tooLarge: return .error(413, code: "message_too_large", message: f.message)
        case .queueFull: return .error(429, code: "queue_full", message: f.message)
        case .bytesFull: return .error(507, code: "queue_bytes_full", message: f.message)
        case .conflict: return .error(409, code: "conflict", message: f.message)
        }
    }

    static func lockJSON(_ v: LockView) -> [String: Any] {
        let holders: [[String: Any]] = v.holders.map { ["session": $0.session.description, "mode": $0.mode.description, "token": $0.token.value] }
        let waiters: [[String: Any]] = v.waiters.map { ["session": $0.session.description, "mode": $0.mode.description, "request_id": $0.requestID.text] }
        return ["name": v.name.text, "holders": holders, "waiters": waiters]
    }
}

/// A request refused before it reached the node, with the answer to give.
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
