import Foundation
import Synchronization
import ChorusBase
import ChorusRing
import ChorusRuntime

/// One closed-loop client of `chorus bench lock`: its own session (chorus) or lease (etcd),
/// one lock name, one thread. `acquire` and `release` block until the server answers.
protocol LockBenchClient: AnyObject {
    /// Opens the session or lease; called before the clock starts.
    func open() throws(CommandFailure)
    func acquire() -> LockBenchStep
    func release() -> LockBenchStep
    /// Ends the session or lease (which releases anything still held); best effort.
    func close()
}

/// How one request of the loop ended.
enum LockBenchStep: Equatable {
    case done
    /// No final answer (unreachable, 5xx, not the leader, an acquire whose wait ran out); send
    /// it again.
    case retry(LockBenchFailureKind, String)
    /// A final refusal the loop cannot get past (session gone, lock not held).
    case failed(LockBenchFailureKind, String)
}

/// Where each lock name's requests go: straight to the API of its shard's leader, so that a
/// request is not forwarded by another node first. Built from `GET /v1/shards` (leader names)
/// and `GET /v1/members` (each member's `chorus.api` tag); rebuilt when a request comes back
/// unsettled (at most every 250 ms across all clients); names whose shard has no known leader
/// go to one of the `--api` nodes, which forwards.
///
/// Invariant: `address(for:)` always returns an address (a fallback when nothing better is
/// known), and the table is only ever replaced whole.
final class ShardRoutes: @unchecked Sendable {
    struct Table: Equatable, Sendable {
        var shardCount: Int
        /// API address of each shard's leader, by shard index; nil when not known.
        var leaders: [String?]
    }

    let fallbacks: [String]
    private let state: Mutex<(table: Table?, refreshedAt: Instant?)> = Mutex((nil, nil))

    init(fallbacks: [String]) {
        precondition(!fallbacks.isEmpty, "ShardRoutes needs at least one address")
        self.fallbacks = fallbacks
    }

    var table: Table? { state.withLock { $0.table } }

    func address(for name: String) -> String {
        guard let t = table, t.shardCount > 0 else { return fallbacks[0] }
        let shard = ShardMap.shard(of: Token(key: name), shardCount: t.shardCount).index
        return t.leaders[shard] ?? fallbacks[shard % fallbacks.count]
    }

    /// Fetches a fresh table from the first fallback that answers, unless one was fetched
    /// less than 250 ms ago. Keeps the old table when no node answers.
    func refresh(force: Bool = false) {
        let now = MonotonicClock.now()
        let due = state.withLock { s -> Bool in
            if !force, let at = s.refreshedAt, now - at < .milliseconds(250) { return false }
            s.refreshedAt = now
            return true
        }
        guard due else { return }
        for address in fallbacks {
            let client = AgentClient(address: address)
            guard let shards = try? client.call(.get, "/v1/shards").decodeJSON([ShardView].self),
                  let members = try? client.call(.get, "/v1/members").decodeJSON([MemberView].self) else { continue }
            let table = ShardRoutes.table(shards: shards, members: members)
            state.withLock { $0.table = table }
            return
        }
    }

    /// The routing table the two listings describe: shard count from the shard list (it has
    /// every shard), each leader's API from its `chorus.api` tag if it is alive.
    static func table(shards: [ShardView], members: [MemberView]) -> Table {
        var api: [String: String] = [:]
        for m in members where m.status == "alive" {
            if let a = m.tags["chorus.api"], !a.isEmpty { api[m.name] = a }
        }
        let count = (shards.map(\.shard).max() ?? -1) + 1
        var leaders = [String?](repeating: nil, count: count)
        for s in shards where s.shard >= 0 {
            leaders[s.shard] = s.leader.flatMap { api[$0] }
        }
        return Table(shardCount: count, leaders: leaders)
    }
}

/// A chorus lock client: a session, exclusive acquire + release of one name over keep-alive
/// connections to each shard leader it talks to.
final class ChorusLockClient: LockBenchClient {
    let name: String
    let routes: ShardRoutes
    /// `wait_ms` of every acquire: longer than the run, so a contended acquire queues rather
    /// than times out.
    let waitMillis: Int64
    let ttl: Interval
    private var session = ""
    private var connections: [String: HTTPClientConnection] = [:]
    private var sequence = 0
    private var acquireID: String?
    private var releaseID: String?
    private let prefix = String(UInt64.random(in: .min ... .max), radix: 36)

    init(name: String, routes: ShardRoutes, waitMillis: Int64, ttl: Interval) {
        self.name = name
        self.routes = routes
        self.waitMillis = waitMillis
        self.ttl = ttl
    }

    func open() throws(CommandFailure) {
        let address = routes.fallbacks[0]
        let api = LockAPI(client: AgentClient(address: address))
        switch api.openSession(ttl: ttl, requestID: LockAPI.newRequestID("bench")) {
        case let .ok(response):
            guard let grant = try? response.decodeJSON(SessionGrant.self) else {
                throw CommandFailure("agent at \(address) answered the session open with something that is not a session")
            }
            session = grant.id
        case let .refused(r): throw CommandFailure("agent at \(address) refused to open a session: \(r)")
        case let .unsettled(why): throw CommandFailure("cannot open a session: \(why)")
        }
    }

    func acquire() -> LockBenchStep {
        // A repeat after an unsettled answer keeps its request id: the agent applies it once.
        let id = acquireID ?? nextID("a")
        acquireID = id
        switch post(LockAPI.lockPath(name, "acquire"), ["session": session, "mode": "exclusive", "wait_ms": waitMillis, "request_id": id],
                    timeout: .milliseconds(waitMillis) + .seconds(10)) {
        case .done:
            acquireID = nil
            return .done
        case .timedOut:
            acquireID = nil  // that wait is over; queue again as a new request
            return .retry(.timeout, "acquire timed out after \(waitMillis) ms")
        case let .unsettled(kind, why):
            return .retry(kind, why)
        case let .refused(why):
            acquireID = nil
            return .failed(.refused, why)
        }
    }

    func release() -> LockBenchStep {
        switch post(LockAPI.lockPath(name, "release"), ["session": session, "request_id": releaseID ?? nextID("r")], timeout: .seconds(10)) {
        case .done:
            releaseID = nil
            return .done
        case let .unsettled(kind, why):
            return .retry(kind, why)
        case .timedOut:
            releaseID = nil
            return .failed(.timeout, "release answered timeout")
        case let .refused(why):
            releaseID = nil
            return .failed(.refused, why)
        }
    }

    func close() {
        guard !session.isEmpty else { return }
        _ = LockAPI(client: AgentClient(address: routes.fallbacks[0])).closeSession(session)
        for c in connections.values { c.close() }
    }

    private func nextID(_ kind: String) -> String {
        sequence += 1
        return "\(prefix)-\(sequence)\(kind)"
    }

    private enum PostResult {
        case done, timedOut
        case unsettled(LockBenchFailureKind, String), refused(String)
    }

    /// One POST to the name's shard leader; an unsettled answer refreshes the routes.
    private func post(_ path: String, _ json: [String: Any], timeout: Interval) -> PostResult {
        let address = routes.address(for: name)
        let connection = connections[address] ?? {
            let c = HTTPClientConnection(address, peerName: "agent")
            connections[address] = c
            return c
        }()
        guard let body = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else { return .refused("cannot encode a request") }
        let response: HTTPClientResponse
        do { response = try connection.request(method: .post, path: path, body: Array(body), timeout: timeout) } catch {
            routes.refresh()
            return .unsettled(.connection, error.description)
        }
        switch LockAnswer.classify(response) {
        case .ok: return .done
        case let .refused(r) where r.code == "timeout": return .timedOut
        case let .refused(r): return .refused("agent at \(address): \(r)")
        case let .unsettled(why):
            routes.refresh()
            return .unsettled(LockBenchFailureKind.of(status: response.status), why)
        }
    }
}

/// An etcd 3.4 lock client through the v3 JSON gateway (grpc-gateway): a lease granted once
/// (with a TTL longer than the run, so no keep-alive is needed), `POST /v3/lock/lock` with the
/// lease, `POST /v3/lock/unlock` with the key it returned; one keep-alive connection.
final class EtcdLockClient: LockBenchClient {
    let name: String
    let endpoint: String
    let ttlSeconds: Int64
    private let connection: HTTPClientConnection
    private var lease = ""
    private var key: String?

    init(name: String, endpoint: String, ttlSeconds: Int64) {
        self.name = name
        self.endpoint = endpoint
        self.ttlSeconds = ttlSeconds
        self.connection = HTTPClientConnection(endpoint, peerName: "etcd")
    }

    func open() throws(CommandFailure) {
        let answer = EtcdLockClient.post(connection, "/v3/lease/grant", "{\"TTL\":\(ttlSeconds)}", timeout: .seconds(10))
        guard case let .success(object) = answer, let id = EtcdLockClient.int64Text(object["ID"]) else {
            throw CommandFailure("etcd at \(endpoint) did not grant a lease: \(EtcdLockClient.problem(answer))")
        }
        lease = id
    }

    func acquire() -> LockBenchStep {
        let body = "{\"name\":\"\(Base64.encode(Array(name.utf8)))\",\"lease\":\"\(lease)\"}"
        switch EtcdLockClient.post(connection, "/v3/lock/lock", body, timeout: .seconds(ttlSeconds)) {
        case let .success(object):
            guard let k = object["key"]?.stringValue else { return .failed(.refused, "etcd at \(endpoint): lock answer without a key") }
            key = k
            return .done
        case let .failure(f): return f.step
        }
    }

    func release() -> LockBenchStep {
        guard let key else { return .failed(.refused, "release without a held key") }
        switch EtcdLockClient.post(connection, "/v3/lock/unlock", "{\"key\":\"\(key)\"}", timeout: .seconds(10)) {
        case .success:
            self.key = nil
            return .done
        case let .failure(f): return f.step
        }
    }

    func close() {
        guard !lease.isEmpty else { return }
        _ = EtcdLockClient.post(connection, "/v3/lease/revoke", "{\"ID\":\"\(lease)\"}", timeout: .seconds(5))
        connection.close()
    }

    struct Failure: Error {
        var step: LockBenchStep
    }

    static func post(_ connection: HTTPClientConnection, _ path: String, _ body: String,
                     timeout: Interval) -> Result<[String: JSONValue], Failure> {
        let response: HTTPClientResponse
        do { response = try connection.request(method: .post, path: path, body: Array(body.utf8), timeout: timeout) } catch {
            return .failure(Failure(step: .retry(.connection, error.description)))
        }
        let object = (try? JSONValue.parse(response.body))?.objectValue
        guard response.status == 200, let object else {
            let detail = object?["error"]?.stringValue ?? object?["message"]?.stringValue ?? response.bodyText ?? ""
            let text = "etcd at \(connection.address): HTTP \(response.status) \(detail.prefix(200))"
            let kind = LockBenchFailureKind.of(status: response.status)
            return .failure(Failure(step: response.status >= 500 ? .retry(kind, text) : .failed(kind, text)))
        }
        return .success(object)
    }

    static func problem(_ r: Result<[String: JSONValue], Failure>) -> String {
        switch r {
        case .success: return "the answer has no lease ID"
        case let .failure(f):
            switch f.step {
            case let .retry(_, why), let .failed(_, why): return why
            case .done: return ""
            }
        }
    }

    /// The gateway writes 64-bit integers as JSON strings; accept either form.
    static func int64Text(_ value: JSONValue?) -> String? {
        if let s = value?.stringValue, Int64(s) != nil { return s }
        if let i = value?.intValue { return String(i) }
        return nil
    }

    /// The client URL of the member that leads (asked through `/v3/maintenance/status`), or
    /// nil when none says so.
    static func leader(of endpoints: [String]) -> String? {
        for e in endpoints {
            let c = HTTPClientConnection(e, peerName: "etcd")
            guard case let .success(object) = post(c, "/v3/maintenance/status", "{}", timeout: .seconds(2)),
                  let member = object["header"]?.objectValue?["member_id"].flatMap({ int64Text($0) ?? $0.stringValue }),
                  let leader = object["leader"].flatMap({ int64Text($0) ?? $0.stringValue }) else { continue }
            c.close()
            if member == leader { return e }
        }
        return nil
    }
}
