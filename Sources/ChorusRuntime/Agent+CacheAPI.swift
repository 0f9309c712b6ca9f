import ChorusBase
import ChorusCache
import ChorusNode
import ChorusShards
import Foundation

// The cache's front door (docs/api.md, "Cache"): GET/PUT/DELETE /v1/cache/{key} (PUT with
// `?ttl_ms=N` expires the key), POST /v1/cache/{key}/incr?by=N and GET /v1/cache parsed into
// typed `ClientRequest`s, and the node's cache replies rendered as JSON. A value is the
// request body as bytes; a read answers it as UTF-8 text, or base64 when it is not text.
// Nothing here holds a copy, decides where a key lives, or retries.
extension Agent {
    func addCacheRoutes(to router: HTTPRouter) {
        router.get("/v1/cache") { [unowned self] _, responder in
            let maxBytes = self.settings.cacheMaxBytes
            self.submit(.cacheStats, responder, present: { Agent.presentCache($0, maxBytes: maxBytes) })
        }
        router.get("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            self.submitCacheRead(.cacheGet(key: key)) { reply, hit in
                var response = Agent.present(reply)
                if case .cacheValue = reply { response.headers.set(Agent.cacheReadHeader, hit ? "hit" : "miss") }
                responder.respond(response)
            }
        }
        router.post("/v1/cache/{key}/incr") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            var by: Int64 = 1
            if let text = request.query("by") {
                guard let n = Int64(text) else {
                    responder.respond(Agent.invalid("by must be an integer in \(Int64.min)...\(Int64.max), got \"\(text.prefix(40))\""))
                    return
                }
                by = n
            }
            self.submit(.cacheIncrement(key: key, by: by), responder)
        }
        router.put("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            guard request.body.count <= CacheShardCommand.maxValueBytes else {
                responder.respond(.error(413, code: "too_large", message: "cache values are limited to \(CacheShardCommand.maxValueBytes) bytes"))
                return
            }
            switch Agent.cacheTTL(request.query("ttl_ms")) {
            case let .failure(e): responder.respond(Agent.invalid(e.message))
            case .success(nil): self.submit(.cachePut(key: key, value: request.body), responder)
            case let .success(ttl?): self.submit(.cachePutExpiring(key: key, value: request.body, ttlMillis: ttl), responder)
            }
        }
        router.delete("/v1/cache/{key}") { [unowned self] request, responder in
            guard let key = Agent.cacheKey(request) else { responder.respond(Agent.invalidCacheKey); return }
            self.submit(.cacheDelete(key: key), responder)
        }
    }

    /// The header of a cache read's answer saying where it was answered: `hit` (this node's
    /// copy) or `miss` (the key's home was asked).
    static let cacheReadHeader = "X-Chorus-Cache"

    /// Submits a cache read and observes its latency: a hit when this node's copy answered
    /// it within the call (its controller's hits grew), a miss otherwise; `answer` is told
    /// which. A key with a readable copy in the mirror of the node's copies is answered from
    /// it at once, as the node itself would answer it (`LocalCacheReads`), and handed back
    /// to the node as a hit at the next tick.
    func submitCacheRead(_ request: ClientRequest, answer: @escaping (ClientReply, _ hit: Bool) -> Void) {
        let started = loop.now()
        if case let .cacheGet(key) = request, let found = localCacheReads.value(of: CacheKey(key), at: started) {
            let elapsed: Interval = loop.now() - started
            cacheMetrics.observeRead(hit: true, seconds: elapsed.seconds)
            return answer(.cacheValue(key: key, value: found), true)
        }
        let hitsBefore = shards.node.cacheHits
        let inCall = CacheReadCall()
        submit(request) { [unowned self] reply in
            let hit = inCall.open && self.shards.node.cacheHits > hitsBefore
            if case .cacheValue = reply {
                let elapsed: Interval = self.loop.now() - started
                self.cacheMetrics.observeRead(hit: hit, seconds: elapsed.seconds)
            }
            answer(reply, hit)
        }
        inCall.open = false
    }

    /// A TTL as `ttl_ms` gives it: absent, or 1...`ClientRequest.maxCacheTTLMillis` ms.
    static func cacheTTL(_ text: String?) -> Result<UInt64?, CacheTTLError> {
        guard let text else { return .success(nil) }
        guard let n = UInt64(text), n >= 1, n <= ClientRequest.maxCacheTTLMillis else {
            return .failure(CacheTTLError(message: "ttl_ms must be 1...\(ClientRequest.maxCacheTTLMillis) (milliseconds), got \"\(text.prefix(40))\""))
        }
        return .success(n)
    }

    static let invalidCacheKey = HTTPResponse.error(400, code: "invalid_key", message: "cache keys are 1...\(CacheShardCommand.maxKeyBytes) bytes")

    static func cacheKey(_ request: HTTPRequest) -> [UInt8]? {
        guard let key = request.pathParameters["key"], !key.isEmpty, key.utf8.count <= CacheShardCommand.maxKeyBytes else { return nil }
        return Array(key.utf8)
    }

    /// The HTTP form of a cache reply.
    static func presentCache(_ reply: ClientReply, maxBytes: Int? = nil) -> HTTPResponse {
        switch reply {
        case let .cacheValue(key, value?):
            var body: [String: Any] = ["key": String(decoding: key, as: UTF8.self)]
            if let text = String(validating: value, as: UTF8.self) { body["value"] = text } else { body["value_base64"] = Data(value).base64EncodedString() }
            return .json(200, body)
        case let .cacheValue(key, nil):
            return .error(404, code: "not_found", message: "no value for \(String(decoding: key.prefix(100), as: UTF8.self))")
        case let .cacheWritten(key):
            return .json(200, ["key": String(decoding: key, as: UTF8.self), "written": true] as [String: Any])
        case let .cacheInteger(key, value):
            return .json(200, ["key": String(decoding: key, as: UTF8.self), "value": value] as [String: Any])
        case let .cacheStatistics(m):
            var body: [String: Any] = ["hits": m.hits, "misses": m.misses, "hit_rate": m.hitRate, "writes": m.writes, "operations": m.operations,
                               "invalidations_sent": m.invalidationsSent, "invalidations_received": m.invalidationsReceived,
                               "evictions": m.evictions, "expirations": m.expirations, "bytes": m.bytes,
                               "directory_entries": m.directoryEntries, "coherence_messages": m.messagesSent,
                               "messages_per_operation": m.messagesPerOperation, "retransmissions": m.retransmissions]
            if let maxBytes { body["max_bytes"] = maxBytes }
            return .json(200, body)
        default:
            return present(reply)
        }
    }
}

/// Whether a cache read's answer came within the call that submitted it.
final class CacheReadCall {
    var open = true
}

/// A `ttl_ms` the cache refuses, with the rule.
struct CacheTTLError: Error {
    let message: String
}
