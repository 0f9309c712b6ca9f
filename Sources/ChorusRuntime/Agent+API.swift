import ChorusBase
import ChorusMembership
import ChorusNode
import Dispatch
import Foundation

// The HTTP API (see docs/api.md). Handlers run on the loop thread and read the membership
// directly; only name resolution for joins leaves the loop.
extension Agent {

    /// Most addresses one join request may name.
    static let maxJoinAddresses = 64

    func makeRouter() -> HTTPRouter {
        let router = HTTPRouter()
        router.get("/v1/members") { [unowned self] request, responder in responder.respond(self.members(request)) }
        router.post("/v1/join") { [unowned self] request, responder in self.join(request, responder) }
        router.post("/v1/leave") { [unowned self] request, responder in self.leave(request, responder) }
        router.put("/v1/tags") { [unowned self] request, responder in responder.respond(self.tags(request)) }
        router.get("/v1/ring") { [unowned self] request, responder in responder.respond(self.ring(request)) }
        router.get("/v1/info") { [unowned self] _, responder in responder.respond(self.info()) }
        router.get("/health") { [unowned self] _, responder in responder.respond(self.health()) }
        router.get("/metrics") { [unowned self] _, responder in responder.respond(self.metricsText()) }
        addShardRoutes(to: router)
        addKeyRoutes(to: router)
        if let token = settings.apiToken {
            router.gate = { token.admits($0) ? nil : APIToken.refusal }
        }
        addQueueRoutes(to: router)
        addCacheRoutes(to: router)
        return router
    }

    // MARK: GET /v1/members

    private func members(_ request: HTTPRequest) -> HTTPResponse {
        var wanted: MemberStatus?
        if let text = request.query("status") {
            guard let status = MemberStatus(name: text) else {
                return .error(400, code: "invalid_status", message: "status must be alive, suspect, dead or left, got \"\(text)\"")
            }
            wanted = status
        }
        let now = loop.now()
        let views = membership.members(at: now)
            .filter { wanted == nil || $0.status == wanted }
            .map { MemberView($0, now: now) }
        return .json(200, views)
    }

    // MARK: POST /v1/join

    private func join(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let addresses: [String]
        do { addresses = try Agent.joinAddresses(request.body) } catch {
            responder.respond(.error(400, code: "invalid_request", message: error.message))
            return
        }
        guard !exiting, !membership.isLeaving else {
            responder.respond(.error(503, code: "leaving", message: "the agent is leaving the cluster"))
            return
        }
        DispatchQueue.global().async { [self] in
            let (endpoints, failures) = Agent.resolve(addresses)
            let queued = self.loop.execute { [self] in self.apiJoinResolved(responder, addresses, endpoints, failures) }
            if !queued { responder.respond(.error(503, code: "busy", message: "the agent is shutting down or overloaded")) }
        }
    }

    /// The `addresses` of a join body, each a well-formed HOST:PORT.
    static func joinAddresses(_ body: [UInt8]) throws(JSONValueError) -> [String] {
        let value = try JSONValue.parse(body)
        guard let object = value.objectValue else {
            throw JSONValueError("body must be a JSON object like {\"addresses\": [\"HOST:PORT\"]}, got \(value.typeName)")
        }
        for key in object.keys.sorted() where key != "addresses" { throw JSONValueError("unknown key \"\(key)\"") }
        guard let list = object["addresses"]?.arrayValue else { throw JSONValueError("\"addresses\" must be an array of \"HOST:PORT\" strings") }
        guard !list.isEmpty else { throw JSONValueError("\"addresses\" must not be empty") }
        guard list.count <= maxJoinAddresses else { throw JSONValueError("at most \(maxJoinAddresses) addresses per join, got \(list.count)") }
        var out: [String] = []
        for item in list {
            guard let text = item.stringValue else { throw JSONValueError("each address must be a string, got \(item.typeName)") }
            guard Endpoint.split(text) != nil else { throw JSONValueError("expected HOST:PORT (or [IPv6]:PORT), got \"\(text.prefix(100))\"") }
            out.append(text)
        }
        return out
    }

    // MARK: POST /v1/leave

    private func leave(_ request: HTTPRequest, _ responder: HTTPResponder) {
        if exiting {
            responder.respond(.json(200, ["left": true, "name": settings.name] as [String: Any]))
            return
        }
        leaveWaiters.append(responder)
        beginLeave(reason: "API request from \(request.remote)")
    }

    // MARK: PUT /v1/tags

    private func tags(_ request: HTTPRequest) -> HTTPResponse {
        guard !exiting, !membership.isLeaving else {
            return .error(503, code: "leaving", message: "the agent is leaving the cluster")
        }
        var updated: Tags
        do {
            updated = try Agent.tagsAfter(request.body, current: membership.tags)
        } catch {
            return .error(400, code: "invalid_tags", message: error.message)
        }
        // The shard layer's tags belong to the agent (its Raft id, API address, shard set):
        // a request may not change them, and a full replacement keeps them.
        let current = membership.tags
        for (key, value) in updated where ShardTags.reserved.contains(key) && current[key] != value {
            return .error(400, code: "reserved_tag", message: "tag \"\(key)\" is set by the agent and cannot be changed")
        }
        do {
            let kept = current.filter { ShardTags.reserved.contains($0.key) && updated[$0.key] == nil }
            updated = try updated.applying(kept.map { ($0.key, $0.value) })
        } catch {
            return .error(400, code: "invalid_tags", message: error.message)
        }
        let tags = updated
        membershipInput { node, time, effects in node.setTags(tags, at: time, into: &effects) }
        return .json(200, ["tags": membership.tags.dictionary] as [String: Any])
    }

    /// The tags a `PUT /v1/tags` body asks for. `{"set": {...}, "delete": [...]}` (either
    /// key optional) patches the current tags; any other object of strings replaces them.
    static func tagsAfter(_ body: [UInt8], current: Tags) throws(JSONValueError) -> Tags {
        let value = try JSONValue.parse(body)
        guard let object = value.objectValue else {
            throw JSONValueError("body must be a JSON object: {\"set\": {...}, \"delete\": [...]} or a full map of tags")
        }
        let isPatch = !object.isEmpty
            && object.keys.allSatisfy { $0 == "set" || $0 == "delete" }
            && (object["set"].map { $0.objectValue != nil } ?? true)
            && (object["delete"].map { $0.arrayValue != nil } ?? true)
        do {
            if isPatch {
                var changes: [(String, String?)] = []
                for item in object["delete"]?.arrayValue ?? [] {
                    guard let key = item.stringValue else { throw JSONValueError("\"delete\" must list tag keys as strings, got \(item.typeName)") }
                    changes.append((key, nil))
                }
                for (key, v) in (object["set"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let text = v.stringValue else { throw JSONValueError("tag \"\(key)\" must have a string value, got \(v.typeName)") }
                    changes.append((key, text))
                }
                return try current.applying(changes)
            }
            var replacement: [String: String] = [:]
            for (key, v) in object {
                guard let text = v.stringValue else { throw JSONValueError("tag \"\(key)\" must have a string value, got \(v.typeName)") }
                replacement[key] = text
            }
            return try Tags(replacement)
        } catch let error as JSONValueError {
            throw error
        } catch let error as TagsError {
            throw JSONValueError(error.message)
        } catch {
            throw JSONValueError("\(error)")
        }
    }

    // MARK: GET /v1/info, /health, /metrics

    private func info() -> HTTPResponse {
        var counts: [String: Any] = [:]
        for status in MemberStatus.allCases { counts[status.description] = membership.count(of: status) }
        var protocolSettings: [String: Any] = [:]
        for key in ProtocolSettingKey.allCases { protocolSettings[key.rawValue] = key.value(in: membership.settings) }
        protocolSettings["ring_vnodes"] = settings.placement.virtualNodesPerMember
        protocolSettings["shards"] = settings.placement.shardCount
        protocolSettings["replicas"] = settings.placement.replicationFactor
        let body: [String: Any] = [
            "name": settings.name,
            "address": advertisedEndpoint.description,
            "bind": gossipEndpoint.description,
            "api": apiEndpoint.description,
            "version": Agent.version,
            "cluster": settings.clusterName,
            "cluster_id": Int(settings.membership.cluster),
            "uptime_seconds": ((loop.now() - startedAt).seconds * 1000).rounded() / 1000,
            "incarnation": Int(membership.incarnation),
            "tags": membership.tags.dictionary,
            "joined": membership.hasJoined,
            "leaving": membership.isLeaving,
            "members": counts,
            "local_health": ["score": membership.localHealthScore, "multiplier": membership.localHealthScore + 1],
            "data_dir": settings.dataDirectory.map { $0 as Any } ?? NSNull(),
            "settings": protocolSettings,
        ]
        return .json(200, body)
    }

    private func health() -> HTTPResponse {
        if exiting || membership.isLeaving {
            return .error(503, code: "leaving", message: "the agent is leaving the cluster")
        }
        return .json(200, ["status": "ok", "name": settings.name] as [String: Any])
    }

    private func metricsText() -> HTTPResponse {
        metrics.refresh(from: membership, node: shards.node.counters, uptime: (loop.now() - startedAt).seconds,
                        inboundStreams: streams.inboundCount, outboundStreams: streams.outboundCount)
        metrics.followSealRefusals(transportSeal.refusals)
        return .text(200, metrics.render(), contentType: MetricsRegistry.contentType)
    }
}
