import ChorusCache
import ChorusNode
import ChorusShards

// The cache's RESP2 front door (`--resp HOST:PORT`, docs/api.md "RESP"): GET, SET, DEL,
// EXISTS, PING, ECHO, COMMAND and AUTH translated to the same typed cache requests as
// /v1/cache, and the node's replies to RESP answers. Nothing here holds a copy or retries.
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
        case ("GET", 1), ("EXISTS", 1):
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            submit(.cacheGet(key: k)) { reply in
                switch reply {
                case let .cacheValue(_, value): answer(name == "GET" ? .bulk(value) : .integer(value == nil ? 0 : 1))
                default: answer(Agent.respError(reply))
                }
            }
        case ("SET", 2):
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            guard args[1].count <= CacheShardCommand.maxValueBytes else { return answer(.error("ERR value too large")) }
            submit(.cachePut(key: k, value: args[1])) { reply in
                if case .cacheWritten = reply { answer(.simple("OK")) } else { answer(Agent.respError(reply)) }
            }
        case ("DEL", 1):
            guard let k = key(0) else { return answer(.error("ERR invalid key")) }
            // DEL answers how many keys it removed: read first, then delete.
            submit(.cacheGet(key: k)) { [self] reply in
                guard case let .cacheValue(_, value) = reply else { return answer(Agent.respError(reply)) }
                submit(.cacheDelete(key: k)) { reply in
                    if case .cacheWritten = reply { answer(.integer(value == nil ? 0 : 1)) } else { answer(Agent.respError(reply)) }
                }
            }
        default:
            answer(.error("ERR unknown command or wrong number of arguments for '\(name.prefix(32))'"))
        }
    }

    static func respError(_ reply: ClientReply) -> RESPValue {
        if case let .failure(f) = reply { return .error("ERR \(f.code): \(f.message)") }
        return .error("ERR unexpected answer")
    }
}
