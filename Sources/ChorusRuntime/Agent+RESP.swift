import ChorusCache
import ChorusNode
import ChorusShards

// The cache's RESP2 front door (`--resp HOST:PORT`, docs/api.md "RESP"): GET, MGET, SET
// (with EX or PX), MSET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, SELECT 0, INFO, PING, ECHO,
// COMMAND and AUTH translated to the same typed cache requests as /v1/cache, and the node's
// replies to RESP answers. An increment is one read-modify-write in the key's shard, never a
// GET then a SET here. Nothing here holds a copy or retries.
extension Agent {
    /// Answers one command on the loop thread; `session` holds the connection's AUTH state.
    func serveRESP(_ arguments: [[UInt8]], session: RESPSession, _ answer: @escaping (RESPValue) -> Void) {
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        let args = Array(arguments.dropFirst())
        if name == "AUTH" {
            guard let token = settings.apiToken else { return answer(.error("ERR AUTH called without a token configured")) }
            guard let given = args.last, token.admits(secret: given) else {
                return answer(.error("WRONGPASS invalid token"))
            }
            session.authenticated = true
            return answer(.simple("OK"))
        }
        if settings.apiToken != nil && !session.authenticated && name != "PING" { return answer(.error("NOAUTH Authentication required.")) }
        func key(_ i: Int) -> [UInt8]? {
            guard i < args.count, !args[i].isEmpty, args[i].count <= CacheShardCommand.maxKeyBytes else { return nil }
            return args[i]
        }
        switch (name, args.count) {
        case ("PING", 0): answer(.simple("PONG"))
        case ("PING", 1), ("ECHO", 1): answer(.bulk(args[0]))
        case ("COMMAND", _): answer(.simple("OK"))
        case ("GET", 1):
            // The common read answers straight from its one reply: no gathering of answers.
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            submitCacheRead(.cacheGet(key: k)) { reply, _ in
                if case let .cacheValue(_, value) = reply { answer(.bulk(value)) } else { answer(Agent.respError(reply)) }
            }
        case ("MGET", 1...):
            guard let keys = keys(args) else { return answer(.error("ERR invalid key")) }
            each(keys, { k, next in
                self.submitCacheRead(.cacheGet(key: k)) { reply, _ in
                    if case let .cacheValue(_, value) = reply { next(.success(.bulk(value))) } else { next(.failure(RESPStepFailure(reply: reply))) }
                }
            }) { result in
                switch result {
                case let .success(values): answer(.array(values))
                case let .failure(reply): answer(Agent.respError(reply))
                }
            }
        case ("EXISTS", 1...):
            guard let keys = keys(args) else { return answer(.error("ERR invalid key")) }
            each(keys, { k, next in
                self.submit(.cacheGet(key: k)) { reply in
                    if case let .cacheValue(_, value) = reply { next(.success(.integer(value == nil ? 0 : 1))) } else { next(.failure(RESPStepFailure(reply: reply))) }
                }
            }) { answer(Agent.count($0)) }
        case ("SET", 2...):
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            guard args[1].count <= CacheShardCommand.maxValueBytes else { return answer(.error("ERR value too large")) }
            let request: ClientRequest
            switch RESPSetOptions.parse(Array(args.dropFirst(2)), maxTTLMillis: ClientRequest.maxCacheTTLMillis) {
            case let .failure(e): return answer(.error(e.line))
            case .success(nil): request = .cachePut(key: k, value: args[1])
            case let .success(ttl?): request = .cachePutExpiring(key: k, value: args[1], ttlMillis: ttl)
            }
            submit(request) { reply in
                if case .cacheWritten = reply { answer(.simple("OK")) } else { answer(Agent.respError(reply)) }
            }
        case ("INCR", 1), ("DECR", 1), ("INCRBY", 2), ("DECRBY", 2):
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            var by: Int64 = name == "DECR" ? -1 : 1
            if args.count == 2 {
                guard let n = DecimalInteger.parse(args[1]) else { return answer(.error("ERR value is not an integer or out of range")) }
                if name == "DECRBY" {
                    guard n != .min else { return answer(.error("ERR decrement would overflow")) }
                    by = -n
                } else {
                    by = n
                }
            }
            submit(.cacheIncrement(key: k, by: by)) { reply in
                if case let .cacheInteger(_, n) = reply { answer(.integer(n)) } else { answer(Agent.respError(reply)) }
            }
        case ("MSET", _) where !args.isEmpty && args.count % 2 == 0:
            let pairs = stride(from: 0, to: args.count, by: 2).map { (args[$0], args[$0 + 1]) }
            guard pairs.allSatisfy({ !$0.0.isEmpty && $0.0.count <= CacheShardCommand.maxKeyBytes && $0.1.count <= CacheShardCommand.maxValueBytes }) else {
                return answer(.error("ERR invalid key or value too large"))
            }
            // One write after the other, each durable before the next (not atomic as a whole).
            each(pairs, { pair, next in
                self.submit(.cachePut(key: pair.0, value: pair.1)) { reply in
                    if case .cacheWritten = reply { next(.success(.ok)) } else { next(.failure(RESPStepFailure(reply: reply))) }
                }
            }) { result in
                if case let .failure(reply) = result { answer(Agent.respError(reply)) } else { answer(.ok) }
            }
        case ("DEL", 1...):
            guard let keys = keys(args) else { return answer(.error("ERR invalid key")) }
            // DEL answers how many keys it removed: each key is read, then deleted.
            each(keys, { k, next in
                self.submit(.cacheGet(key: k)) { reply in
                    guard case let .cacheValue(_, value) = reply else { return next(.failure(RESPStepFailure(reply: reply))) }
                    self.submit(.cacheDelete(key: k)) { reply in
                        if case .cacheWritten = reply { next(.success(.integer(value == nil ? 0 : 1))) } else { next(.failure(RESPStepFailure(reply: reply))) }
                    }
                }
            }) { answer(Agent.count($0)) }
        case ("SELECT", 1):
            answer(args[0] == Array("0".utf8) ? .ok : .error("ERR DB index is out of range"))
        case ("INFO", 0...1):
            submit(.cacheStats) { reply in
                guard case let .cacheStatistics(m) = reply else { return answer(Agent.respError(reply)) }
                let lines = ["# Server", "redis_version:7.0.0", "chorus_version:\(Agent.version)", "redis_mode:cluster-proxy",
                             "# Stats", "keyspace_hits:\(m.hits)", "keyspace_misses:\(m.misses)", "evicted_keys:\(m.evictions)",
                             "expired_keys:\(m.expirations)", "# Memory", "used_memory:\(m.bytes)", "# Keyspace"]
                answer(.bulk(Array((lines.joined(separator: "\r\n") + "\r\n").utf8)))
            }
        default:
            answer(.error("ERR unknown command or wrong number of arguments for '\(name.prefix(32))'"))
        }
    }

    /// The commands that only read keys: a connection's pipelined reads may be in service
    /// together (a miss asking a key's home does not hold up the hits behind it); anything
    /// else waits for them and they for it.
    static func isRESPRead(_ name: [UInt8]) -> Bool {
        // Called for every command: ASCII case folding on the bytes, no string built.
        func named(_ word: StaticString) -> Bool {
            guard name.count == word.utf8CodeUnitCount else { return false }
            return zip(name, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)).allSatisfy { $0 & 0xDF == $1 }
        }
        return named("GET") || named("MGET") || named("EXISTS")
    }

    func keys(_ args: [[UInt8]]) -> [[UInt8]]? {
        args.allSatisfy({ !$0.isEmpty && $0.count <= CacheShardCommand.maxKeyBytes }) ? args : nil
    }

    /// Runs `step` on each item, each after the one before answered, and hands `done` every
    /// answer in order, or the first failure (the rest are not run).
    func each<T>(_ items: [T], _ step: @escaping (T, @escaping (Result<RESPValue, RESPStepFailure>) -> Void) -> Void,
                 done: @escaping (Result<[RESPValue], RESPStepFailure>) -> Void) {
        // One buffer for every answer, not a copy per step (an MGET may name 4,096 keys).
        let answers = RESPAnswers()
        answers.values.reserveCapacity(items.count)
        func run(_ i: Int) {
            guard i < items.count else { return done(.success(answers.values)) }
            step(items[i]) { result in
                switch result {
                case let .success(v): answers.values.append(v); run(i + 1)
                case let .failure(f): done(.failure(f))
                }
            }
        }
        run(0)
    }

    /// The sum of integer answers (EXISTS, DEL), or the failure.
    static func count(_ result: Result<[RESPValue], RESPStepFailure>) -> RESPValue {
        switch result {
        case let .success(values):
            return .integer(values.reduce(0) { sum, v in if case let .integer(n) = v { sum + n } else { sum } })
        case let .failure(reply):
            return respError(reply)
        }
    }

    static func respError(_ reply: RESPStepFailure) -> RESPValue { respError(reply.reply) }

    static func respError(_ reply: ClientReply) -> RESPValue {
        if case let .failure(f) = reply {
            // The shard's refusal of an increment reads as Redis's own line.
            if f.code == .rejected { return .error("ERR \(f.message)") }
            return .error("ERR \(f.code): \(f.message)")
        }
        return .error("ERR unexpected answer")
    }
}

/// A node reply that ended a multi-key command early.
struct RESPStepFailure: Error {
    let reply: ClientReply
}

/// The answers a multi-key command has gathered so far (shared by its steps).
final class RESPAnswers {
    var values: [RESPValue] = []
}
