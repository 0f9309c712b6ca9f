import ChorusCache
import ChorusNode
import ChorusShards
import Foundation

// The cache's front door (docs/api.md, "Cache"): GET/PUT/DELETE /v1/cache/{key} and
// GET /v1/cache parsed into typed `ClientRequest`s, and the node's cache replies rendered
// as JSON. A value is the request body as bytes; a read answers it as UTF-8 text, or base64
// when it is not text. Nothing here holds a copy, decides where a key lives, or retries.
extension Agent {
    func addCacheRoutes(to router: HTTPRouter) {
        router.get("/v1/cache") { [unowned self] _, responder in self.submit(.cacheStats, responder) }
        router.get("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            self.submit(.cacheGet(key: key), responder)
        }
        router.put("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            guard request.body.count <= CacheShardCommand.maxValueBytes else {
                responder.respond(.error(413, code: "too_large", message: "cache values are limited to \(CacheShardCommand.maxValueBytes) bytes"))
                return
            }
            self.submit(.cachePut(key: key, value: request.body), responder)
        }
        router.delete("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            self.submit(.cacheDelete(key: key), responder)
        }
    }

    static let invalidCacheKey = HTTPResponse.error(400, code: "invalid_key", message: "cache keys are 1...\(CacheShardCommand.maxKeyBytes) bytes")

    static func cacheKey(_ request: HTTPRequest) -> [UInt8]? {
        guard let key = request.pathParameters["key"], !key.isEmpty, key.utf8.count <= CacheShardCommand.maxKeyBytes else { return nil }
        return Array(key.utf8)
    }

    /// The HTTP form of a cache reply.
    static func presentCache(_ reply: ClientReply) -> HTTPResponse {
        switch reply {
        case let .cacheValue(key, value?):
            var body: [String: Any] = ["key": String(decoding: key, as: UTF8.self)]
            if let text = String(validating: value, as: UTF8.self) { body["value"] = text } else { body["value_base64"] = Data(value).base64EncodedString() }
            return .json(200, body)
        case let .cacheValue(key, nil):
            return .error(404, code: "not_found", message: "no value for \(String(decoding: key.prefix(100), as: UTF8.self))")
        case let .cacheWritten(key):
            return .json(200, ["key": String(decoding: key, as: UTF8.self), "written": true] as [String: Any])
        case let .cacheStatistics(m):
            return .json(200, ["hits": m.hits, "misses": m.misses, "hit_rate": m.hitRate, "writes": m.writes, "operations": m.operations,
                               "invalidations_sent": m.invalidationsSent, "invalidations_received": m.invalidationsReceived,
                               "evictions": m.evictions, "expirations": m.expirations, "bytes": m.bytes,
                               "directory_entries": m.directoryEntries, "coherence_messages": m.messagesSent,
                               "messages_per_operation": m.messagesPerOperation, "retransmissions": m.retransmissions] as [String: Any])
        default:
            return present(reply)
        }
    }
}
