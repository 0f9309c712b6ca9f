import ChorusRuntime
import Foundation
import Synchronization

/// The fenced-counter lock workload of the chaos test: one client per node, on a thread inside
/// its node's namespace talking to the local agent, loops over: keep a session alive, acquire
/// the exclusive lock `chaos-counter`, read the counter, wait 20 ms, write counter + 1 with the
/// grant's fencing token, release. The counter lives in `FencedStore`, standing for storage
/// that refuses a token at or below the last one it accepted.
///
/// What the checks hold it to (`violations`): the counter equals the number of accepted
/// increments (no lost update: a read-modify-write under the lock never overlapped another),
/// a grant that completed before another was asked for has the smaller token (tokens
/// strictly increase in real time), and no token goes to two holds. A re-acquire by a session
/// that already holds the lock returns that hold (same token) and is not a new grant. Refused stale writes are counted, not failures: fencing
/// is there for them.
final class FencedCounterWorkload: ChaosWorkload, @unchecked Sendable {
    struct Grant: Sendable {
        var client: Int
        var session: String
        var requestID: String
        var invoked: Int64
        var completed: Int64
        var token: Int
    }

    /// The counter and the highest token it accepted.
    struct FencedStore {
        var value = 0
        var lastToken = -1
        var accepted = 0
        var refused = 0
        /// Writes `newValue` if `token` is above every token accepted so far.
        mutating func write(_ newValue: Int, token: Int) {
            guard token > lastToken else { refused += 1; return }
            lastToken = token
            value = newValue
            accepted += 1
        }
    }

    let lockName = "chaos-counter"
    private let store = Mutex(FencedStore())
    private let grants = Mutex<[Grant]>([])
    /// How many times each outcome happened ("acquire 409 timeout", "release unanswered", …), for the report.
    private let outcomes = Mutex<[String: Int]>([:])
    private let clients = ChaosClients()

    func start(_ cluster: ChaosCluster) { clients.start(cluster) { node, api in self.client(node, api: api) } }

    func stop() { clients.stop() }

    var recordedGrants: [Grant] { grants.withLock { $0 } }
    var outcomeCounts: [String: Int] { outcomes.withLock { $0 } }
    private func note(_ what: String) { outcomes.withLock { $0[what, default: 0] += 1 } }
    var storeState: FencedStore { store.withLock { $0 } }

    private func call(_ api: String, _ path: String, _ body: String?, timeout: Double) -> (status: Int, json: [String: Any])? {
        guard let r = try? HTTPClient().request(method: .post, api, path: path, body: body.map { Array($0.utf8) },
                                                timeout: .milliseconds(Int64(timeout * 1000))) else { return nil }
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    private static func errorCode(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["code"] as? String }

    private func client(_ c: Int, api: String) {
        var session: String?
        var attempt = 0
        while !clients.stopping {
            attempt += 1
            guard let s = session else {
                if let r = call(api, "/v1/sessions", #"{"ttl_ms":10000,"request_id":"s\#(c)-\#(attempt)"}"#, timeout: 6),
                   r.status == 200 { session = r.json["id"] as? String } else { note("session create failed"); usleep(200_000) }
                continue
            }
            let k = call(api, "/v1/sessions/\(s)/keepalive", nil, timeout: 6)
            if k?.status == 404 {
                note("keepalive: session expired")
                session = nil
                continue
            }
            if k?.status != 200 { note("keepalive \(k.map { "\($0.status)" } ?? "unanswered")") }
            // One acquire request id, retried while the answer is unknown: a retry gets the first answer.
            let requestID = "L\(c)-\(attempt)"
            let invoked = ChaosClients.now()
            var answer: (status: Int, json: [String: Any])?
            for _ in 0..<3 where answer == nil && !clients.stopping {
                answer = call(api, "/v1/locks/\(lockName)/acquire",
                              #"{"session":"\#(s)","wait_ms":3000,"request_id":"\#(requestID)"}"#, timeout: 8)
                if answer == nil { note("acquire unanswered"); usleep(200_000) }
            }
            guard let r = answer else {
                session = nil // granted, waiting or not: unknown; a fresh session is never confused with it
                continue
            }
            if r.status != 200 {
                let message = r.status == 400 ? ((r.json["error"] as? [String: Any])?["message"] as? String ?? "") : ""
                note("acquire \(r.status) \(Self.errorCode(r.json) ?? "") \(message.prefix(60))")
                if Self.errorCode(r.json) == "session_expired" || r.status == 400 { session = nil }
                if r.status >= 500 { usleep(200_000) }
                continue
            }
            guard let token = r.json["token"] as? Int else { continue }
            let completed = ChaosClients.now()
            grants.withLock { $0.append(Grant(client: c, session: s, requestID: requestID, invoked: invoked, completed: completed, token: token)) }
            let read = store.withLock { $0.value }
            usleep(20_000)
            store.withLock { $0.write(read + 1, token: token) }
            var released = false
            for _ in 0..<3 where !released {
                if let rr = call(api, "/v1/locks/\(lockName)/release", #"{"session":"\#(s)","request_id":"rel-\#(requestID)"}"#, timeout: 6),
                   rr.status == 200 || Self.errorCode(rr.json) == "not_held" { released = true } else { note("release failed") }
            }
            // Unsure whether the session still holds the lock: a re-acquire on it would return the same
            // hold (same token, docs/locks.md), so start afresh; the old session's hold ends with its TTL.
            if !released { session = nil }
        }
    }

    /// Every broken promise in `grants` and `store`, as sentences; empty when all hold.
    static func violations(grants recorded: [Grant], store: FencedStore) -> [String] {
        var found: [String] = []
        let grants = holds(recorded)
        if store.value != store.accepted {
            found.append("counter is \(store.value) after \(store.accepted) accepted increments (a lost update)")
        }
        // Real-time order: sort by completion; a grant invoked after others completed must beat their max token.
        let byCompletion = grants.sorted { $0.completed < $1.completed }
        let byInvocation = grants.sorted { $0.invoked < $1.invoked }
        var i = 0
        var maxDone: Grant?
        for g in byInvocation {
            while i < byCompletion.count && byCompletion[i].completed < g.invoked {
                if maxDone.map({ byCompletion[i].token > $0.token }) ?? true { maxDone = byCompletion[i] }
                i += 1
            }
            if let m = maxDone, g.token <= m.token {
                found.append("grant \(g.requestID) (token \(g.token)) was asked for after grant \(m.requestID) (token \(m.token)) completed")
                if found.count > 5 { break }
            }
        }
        var seen: [Int: Grant] = [:]
        for g in grants {
            if let other = seen[g.token] {
                found.append("token \(g.token) granted to both \(other.requestID) (session \(other.session)) and \(g.requestID) (session \(g.session))")
            }
            seen[g.token] = g
        }
        return found
    }

    /// One grant per hold: a session that asks again for the exclusive lock it holds gets the
    /// same hold back, same token (docs/locks.md, re-acquire); the first grant stands for it.
    static func holds(_ grants: [Grant]) -> [Grant] {
        var seen: Set<String> = []
        return grants.sorted { $0.completed < $1.completed }.filter { seen.insert("\($0.session) \($0.token)").inserted }
    }

    /// The grants with the tokens of two grants, one completed before the other was asked
    /// for, swapped: a working check must reject it. Nil when no such pair was recorded.
    static func plantedTokenSwap(_ grants: [Grant]) -> [Grant]? {
        let sorted = holds(grants).sorted { $0.invoked < $1.invoked }
        for a in sorted.indices {
            guard let b = sorted.indices.first(where: { sorted[$0].invoked > sorted[a].completed }) else { continue }
            var planted = sorted
            let tokenA = planted[a].token
            planted[a].token = planted[b].token
            planted[b].token = tokenA
            return planted
        }
        return nil
    }
}
