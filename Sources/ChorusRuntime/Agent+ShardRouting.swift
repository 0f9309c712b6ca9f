import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import Dispatch

/// How long a request may spend being routed to its shard's leader (forwards and retries
/// across leader changes included) before the client gets a 503.
let shardRequestBudget: Interval = .seconds(5)

// Client routing: any node accepts a request for any shard. The shard's leader handles it;
// any other node forwards the HTTP request to the leader it knows (or to a replica from the
// placement, which knows the leader), and retries across leader changes until the budget
// runs out. Every request carries a request id (the client's, or one the first node
// assigns), so a retry after an ambiguous failure is applied at most once.
/// Handles a request on the shard's leader: the request (with its request id header), where
/// to answer, and the routing deadline.
typealias ShardHandler = @Sendable (HTTPRequest, HTTPResponder, Instant) -> Void

extension Agent {
    static let forwardedHeader = "X-Chorus-Forwarded"
    static let requestIDHeader = "X-Chorus-Request-Id"

    /// The request id of `request`: the client's `request_id` query item, else the one a
    /// previous hop assigned, else a new random one; nil when the client's id is unusable.
    static func requestID(of request: HTTPRequest) -> String? {
        if let id = request.query("request_id"), !id.isEmpty { return isUsableRequestID(id) ? id : nil }
        if let id = request.headers[requestIDHeader], !id.isEmpty { return isUsableRequestID(id) ? id : nil }
        return String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16)
    }

    /// 1…128 bytes of UTF-8 without control characters (it travels in an HTTP header when a
    /// request is forwarded, so a line break must never get in).
    static func isUsableRequestID(_ id: String) -> Bool {
        let n = id.utf8.count
        return n >= 1 && n <= CommandEnvelope.maxRequestIDBytes
            && id.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control }
    }

    /// Runs `local` here if this node leads `shard`, else forwards the request to the leader.
    /// `local` may call `routeToLeader` again (with the same request) when leadership moved
    /// while it waited; `deadline` bounds the whole exchange.
    /// `patience` is how long the leader may legitimately take to answer beyond routing (an
    /// acquire's wait): a forward waits that much longer before it gives up.
    func routeToLeader(_ request: HTTPRequest, shard: ShardID, deadline: Instant? = nil, patience: Interval = .zero,
                       _ responder: HTTPResponder, local: @escaping ShardHandler) {
        var request = request
        let deadline = deadline ?? loop.now() + shardRequestBudget
        if request.headers[Agent.requestIDHeader] == nil {
            guard let id = Agent.requestID(of: request) else {
                responder.respond(.error(400, code: "invalid_request", message: "request_id must be 1...\(CommandEnvelope.maxRequestIDBytes) bytes without control characters"))
                return
            }
            request.headers.set(Agent.requestIDHeader, id)
        }
        if shards.host.isLeader(of: shard) {
            local(request, responder, deadline)
            return
        }
        let hint = shards.host.leader(of: shard).flatMap { shards.peers[$0] }
        if request.headers[Agent.forwardedHeader] != nil {
            // One hop only: tell the node that forwarded where to go instead.
            var body: [String: Any] = ["error": ["code": "not_leader", "message": "\(settings.name) does not lead shard \(shard)"]]
            if let hint { body["leader"] = hint.name; body["leader_api"] = hint.api ?? "" }
            responder.respond(.json(421, body))
            return
        }
        guard loop.now() < deadline else {
            responder.respond(.error(503, code: "no_leader", message: "shard \(shard) has no reachable leader; retry"))
            return
        }
        guard let api = hint?.api ?? placementAPI(of: shard) else {
            retryRoute(request, shard: shard, deadline: deadline, patience: patience, responder, local: local)
            return
        }
        forward(request, to: api, shard: shard, deadline: deadline, patience: patience, responder, local: local)
    }

    /// The API address of a live replica the placement names for `shard` (it knows the
    /// leader, or is it), other than this node.
    private func placementAPI(of shard: ShardID) -> String? {
        let placement = (shards.placementMap ?? currentRing().shardMap).placement(shard)
        let candidates = placement.replicas.compactMap { name -> String? in
            guard name != settings.name, let id = shards.idsByName[name], let peer = shards.peers[id], peer.live else { return nil }
            return peer.api
        }
        return candidates.isEmpty ? nil : candidates[Int.random(in: 0..<candidates.count)]
    }

    private func retryRoute(_ request: HTTPRequest, shard: ShardID, deadline: Instant, patience: Interval, _ responder: HTTPResponder,
                            local: @escaping ShardHandler) {
        loop.schedule(after: .milliseconds(50)) { [weak self] in
            self?.routeToLeader(request, shard: shard, deadline: deadline, patience: patience, responder, local: local)
        }
    }

    private func forward(_ request: HTTPRequest, to api: String, shard: ShardID, deadline: Instant, patience: Interval,
                         _ responder: HTTPResponder, local: @escaping ShardHandler) {
        var headers = HTTPHeaders()
        for field in request.headers where !["host", "connection", "content-length"].contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        headers.set(Agent.forwardedHeader, settings.name)
        let forwardHeaders = headers
        let method = request.method
        let target = request.target
        let body = request.body
        let timeout = max(.milliseconds(100), deadline - loop.now()) + patience
        let started = outbound.start { [weak self] in
            let result = Result { () throws(HTTPClientError) -> HTTPClientResponse in
                try HTTPClient(peerName: "shard leader").request(method: method, api, path: target, body: method == .get ? nil : body,
                                                                 headers: forwardHeaders, timeout: timeout)
            }
            _ = self?.loop.execute { [weak self] in
                guard let self else { return }
                switch result {
                case let .success(response) where response.status == 421 || (response.status == 503 && response.apiError?.code == "no_leader"):
                    // The node we asked does not lead the shard (any more): try again with fresher knowledge.
                    self.retryRoute(request, shard: shard, deadline: deadline, patience: patience, responder, local: local)
                case let .success(response):
                    var relayed = HTTPResponse(status: response.status, body: response.body)
                    if let type = response.headers["Content-Type"] { relayed.headers.set("Content-Type", type) }
                    responder.respond(relayed)
                case .failure:
                    self.retryRoute(request, shard: shard, deadline: deadline, patience: patience, responder, local: local)
                }
            }
        }
        if !started {
            responder.respond(.error(503, code: "busy", message: "too many requests being forwarded; retry"))
        }
    }
}
