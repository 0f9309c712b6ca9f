import Foundation
import ChorusBase
import ChorusLocks
import ChorusRuntime

/// One lock as `GET /v1/locks/{name}` and `GET /v1/locks?prefix=` report it: its holders and,
/// in queue order, its waiters.
struct LockView: Codable, Equatable, Sendable {
    struct Holder: Codable, Equatable, Sendable {
        var session: String
        var mode: String
        var token: UInt64
    }

    struct Waiter: Codable, Equatable, Sendable {
        var session: String
        var mode: String
        var requestID: String?

        enum CodingKeys: String, CodingKey {
            case session, mode
            case requestID = "request_id"
        }
    }

    var name: String
    var holders: [Holder]
    var waiters: [Waiter]
}

/// A granted acquire, as `POST /v1/locks/{name}/acquire` answers it.
struct LockGrant: Codable, Equatable, Sendable {
    var name: String
    var mode: String
    /// The fencing token: grows with every grant of the name; pass it to the guarded resource.
    var token: UInt64
}

/// A session, as `POST /v1/sessions` and its keep-alive answer it.
struct SessionGrant: Codable, Equatable, Sendable {
    var id: String
    var ttlMillis: UInt64

    enum CodingKeys: String, CodingKey {
        case id
        case ttlMillis = "ttl_ms"
    }
}

/// A final "no" from the lock API: a 4xx status with its `{"error":{"code","message"}}`.
/// Invariant: `description` is one line.
struct LockRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    var status: Int
    var code: String
    var message: String
    var description: String { message.isEmpty ? code : "\(message) (\(code))" }
}

/// What one request to the lock API came to. A request id makes `.unsettled` safe to repeat:
/// the agent applies a request id once and answers a repeat with the first answer.
enum LockAnswer {
    /// A 2xx answer.
    case ok(HTTPClientResponse)
    /// A final refusal (4xx other than 408, 421 and 429): repeating it changes nothing.
    case refused(LockRefusal)
    /// No final answer: no connection, no complete response in time, a redirect to the leader
    /// (421), overload (429) or a 5xx. Why, in one line.
    case unsettled(String)

    /// Classifies an answer by status (the contract's codes; unknown statuses by class).
    static func classify(_ response: HTTPClientResponse) -> LockAnswer {
        switch response.status {
        case 200..<300:
            return .ok(response)
        case 400..<500 where ![408, 421, 429].contains(response.status):
            let e = response.apiError
            return .refused(LockRefusal(status: response.status, code: e?.code ?? "http_\(response.status)", message: e?.message ?? ""))
        default:
            let e = response.apiError
            return .unsettled("HTTP \(response.status)" + (e.map { ": \($0.message) (\($0.code))" } ?? ""))
        }
    }
}

/// The agent's lock and session API (docs/api.md, `/v1/sessions` and `/v1/locks`), one
/// blocking request per call over `AgentClient`; any agent serves any name (it forwards to
/// the shard's leader).
struct LockAPI {
    let client: AgentClient
    var address: String { client.address }

    /// One request, classified; never throws.
    func send(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, timeout: Interval) -> LockAnswer {
        var body: [UInt8]?
        if let json {
            guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else {
                return .refused(LockRefusal(status: 0, code: "client_error", message: "cannot encode the request body"))
            }
            body = Array(data)
        }
        do {
            return LockAnswer.classify(try client.exchange(method, path, body: body, timeout: timeout))
        } catch {
            return .unsettled(error.description)
        }
    }

    func openSession(ttl: Interval, requestID: String, timeout: Interval = .seconds(10)) -> LockAnswer {
        send(.post, "/v1/sessions", json: ["ttl_ms": ttl.nanoseconds / 1_000_000, "request_id": requestID], timeout: timeout)
    }

    func keepAlive(session: String, timeout: Interval) -> LockAnswer {
        send(.post, "/v1/sessions/\(LockAPI.percentEncoded(session))/keepalive", timeout: timeout)
    }

    func closeSession(_ session: String, timeout: Interval = .seconds(5)) -> LockAnswer {
        send(.delete, "/v1/sessions/\(LockAPI.percentEncoded(session))", timeout: timeout)
    }

    func acquire(_ name: String, session: String, mode: LockMode, waitMillis: Int64, requestID: String,
                 timeout: Interval) -> LockAnswer {
        send(.post, LockAPI.lockPath(name, "acquire"),
             json: ["session": session, "mode": mode.description, "wait_ms": waitMillis, "request_id": requestID], timeout: timeout)
    }

    func release(_ name: String, session: String, requestID: String, timeout: Interval = .seconds(10)) -> LockAnswer {
        send(.post, LockAPI.lockPath(name, "release"), json: ["session": session, "request_id": requestID], timeout: timeout)
    }

    /// Releases with one request id, repeating an unsettled answer (backoff from 100 ms
    /// doubling to 1 s) while `within` lasts; the repeat is safe because the agent applies a
    /// request id once. Returns the last answer.
    func releaseSettling(_ name: String, session: String, within: Interval = .seconds(5)) -> LockAnswer {
        let requestID = LockAPI.newRequestID("rel")
        let deadline = MonotonicClock.now() + within
        var backoff = Interval.milliseconds(100)
        while true {
            let answer = release(name, session: session, requestID: requestID, timeout: .seconds(5))
            guard case .unsettled = answer, MonotonicClock.now() + backoff < deadline else { return answer }
            usleep(UInt32(backoff.nanoseconds / 1_000))
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    /// `GET /v1/locks/{name}`, decoded; every failure is one line.
    func status(_ name: String) throws(CommandFailure) -> LockView {
        let response = try client.call(.get, LockAPI.lockPath(name))
        do { return try response.decodeJSON(LockView.self) } catch {
            throw CommandFailure("agent at \(address) sent a lock status that cannot be read")
        }
    }

    /// `GET /v1/locks?prefix=`, decoded; every failure is one line.
    func list(prefix: String) throws(CommandFailure) -> [LockView] {
        let path = prefix.isEmpty ? "/v1/locks" : "/v1/locks?prefix=" + LockAPI.percentEncoded(prefix)
        let response = try client.call(.get, path)
        do { return try response.decodeJSON([LockView].self) } catch {
            throw CommandFailure("agent at \(address) sent a lock list that cannot be read")
        }
    }

    /// `/v1/locks/{name}` or `/v1/locks/{name}/{action}`, the name percent-encoded.
    static func lockPath(_ name: String, _ action: String? = nil) -> String {
        "/v1/locks/" + percentEncoded(name) + (action.map { "/" + $0 } ?? "")
    }

    /// Every byte but RFC 3986's unreserved characters as %XX, so that a `/`, `?`, `%` or space
    /// in a lock name stays inside one path segment (the router decodes segments after matching).
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A request id no other client picks: 128 random bits in hex, with a readable prefix.
    static func newRequestID(_ prefix: String) -> String {
        prefix + "-" + String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16)
    }
}
