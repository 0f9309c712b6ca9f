import ChorusBase
import Foundation
import Synchronization
import Testing
@testable import ChorusCLI
@testable import ChorusRuntime

/// The lock client against a scripted stand-in for the agent's lock API (the real one is
/// built elsewhere): keep-alives, lost sessions, repeats with the same request id, the bench
/// loop, and keep-alive connections.
@Suite struct LockClientTests {
    /// An HTTP server on a free loopback port whose routes the test scripts; it records every
    /// request. Touched on its loop only, hence the unchecked conformance.
    final class FakeAgent: @unchecked Sendable {
        let loop: EventLoop
        let router = HTTPRouter()
        private(set) var server: HTTPServer!
        let recorder = Recorder()
        var address: String { server.localEndpoint.description }

        init(settings: HTTPServerSettings = HTTPServerSettings(), _ routes: (HTTPRouter) -> Void) throws {
            loop = try EventLoop()
            routes(router)
            let router = self.router
            let recorder = self.recorder
            server = try HTTPServer(bind: Endpoint(ip: .loopbackV4, port: 0), on: loop, settings: settings) { request, responder in
                recorder.items.withLock { $0.append((request.rawPath, String(decoding: request.body, as: UTF8.self))) }
                router.handle(request, responder)
            }
            try loop.start()
        }

        deinit { loop.stop() }

        var requests: [(path: String, body: String)] { recorder.items.withLock { $0 } }

        func bodies(_ path: String) -> [[String: Any]] {
            requests.filter { $0.path == path }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any]
            }
        }

        /// The number of open server connections, read on the loop.
        func connectionCount() -> Int {
            let count = Mutex(0)
            let done = DispatchSemaphore(value: 0)
            loop.execute { [self] in
                count.withLock { $0 = self.server.connectionCount }
                done.signal()
            }
            done.wait()
            return count.withLock { $0 }
        }
    }

    static func openSession(_ router: HTTPRouter, ttlMillis: Int = 300) {
        router.post("/v1/sessions") { _, r in r.respond(.json(200, ["id": "7-42-1700000000000", "ttl_ms": ttlMillis])) }
    }

    final class Recorder: Sendable {
        let items = Mutex<[(path: String, body: String)]>([])
    }

    final class Flag: Sendable {
        let value = Mutex(0)
        func bump() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    // MARK: Sessions

    @Test func session_isLostAtOnceWhenTheAgentRefusesAKeepAlive() throws {
        let calls = Flag()
        let agent = try FakeAgent { router in
            Self.openSession(router)
            router.post("/v1/sessions/{id}/keepalive") { req, r in
                calls.bump()
                if calls.count == 1 {
                    r.respond(.json(200, ["id": req.pathParameters["id"] ?? "", "ttl_ms": 300]))
                } else {
                    r.respond(.error(404, code: "session_expired", message: "session 7-42-1700000000000 expired"))
                }
            }
        }
        let lost = Flag()
        let session = try LockSession.open(LockAPI(client: AgentClient(address: agent.address)), ttl: .milliseconds(300),
                                           onLost: { lost.bump() })
        #expect(session.id == "7-42-1700000000000")
        #expect(session.ttl == .milliseconds(300))
        session.startKeepAlive()
        #expect(Self.waitUntil(3) { lost.count == 1 })
        #expect(session.lostReason()?.contains("session_expired") == true)
        #expect(calls.count == 2)
        #expect(lost.count == 1)
        session.stop()
    }

    @Test func session_isLostOnceATTLPassesWithoutAnAcknowledgedKeepAlive() throws {
        let agent = try FakeAgent { router in
            Self.openSession(router, ttlMillis: 400)
            router.post("/v1/sessions/{id}/keepalive") { _, r in r.respond(.error(503, code: "no_leader", message: "no leader")) }
        }
        let lost = Flag()
        let opened = MonotonicClock.now()
        let session = try LockSession.open(LockAPI(client: AgentClient(address: agent.address)), ttl: .milliseconds(400),
                                           onLost: { lost.bump() })
        session.startKeepAlive()
        #expect(session.lostReason() == nil)
        #expect(Self.waitUntil(3) { session.lostReason() != nil })
        // Lost no earlier than the TTL after the open was sent.
        #expect(MonotonicClock.now() - opened >= .milliseconds(400))
        #expect(session.lostReason()?.contains("no_leader") == true)
        #expect(lost.count == 1)
        session.stop()
    }

    // MARK: Acquire

    @Test func acquire_repeatsAnUnsettledRequestWithTheSameRequestID_untilGranted() throws {
        let calls = Flag()
        let agent = try FakeAgent { router in
            router.post("/v1/locks/{name}/acquire") { req, r in
                calls.bump()
                if calls.count < 3 {
                    r.respond(.error(503, code: "no_leader", message: "shard 3 has no reachable leader; retry"))
                } else {
                    r.respond(.json(200, ["name": req.pathParameters["name"] ?? "", "mode": "shared", "token": 99]))
                }
            }
        }
        let api = LockAPI(client: AgentClient(address: agent.address))
        let request = LockAcquireCommand.Request(name: "jobs/a b", mode: .shared, wait: .seconds(5))
        let waiter = AcquireWaiter(request: request, api: api, session: "7-42-1", bell: try Doorbell())
        waiter.start()
        #expect(Self.waitUntil(5) { waiter.outcome != nil })
        guard case let .granted(grant)? = waiter.outcome else { Issue.record("not granted: \(String(describing: waiter.outcome))"); return }
        #expect(grant == LockGrant(name: "jobs/a b", mode: "shared", token: 99))
        let bodies = agent.bodies("/v1/locks/jobs%2Fa%20b/acquire")
        #expect(bodies.count == 3)
        #expect(Set(bodies.compactMap { $0["request_id"] as? String }).count == 1)
        #expect(bodies.allSatisfy { $0["session"] as? String == "7-42-1" && $0["mode"] as? String == "shared" })
        #expect(bodies.allSatisfy { ($0["wait_ms"] as? Int).map { $0 > 4_000 && $0 <= 5_000 } == true })
    }

    @Test func acquire_timeoutAndDeadlockAreFinal() throws {
        for code in ["timeout", "deadlock", "session_expired"] {
            let agent = try FakeAgent { router in
                router.post("/v1/locks/{name}/acquire") { _, r in r.respond(.error(409, code: code, message: "no")) }
            }
            let waiter = AcquireWaiter(request: LockAcquireCommand.Request(name: "x", wait: .zero),
                                       api: LockAPI(client: AgentClient(address: agent.address)), session: "1-1-1", bell: try Doorbell())
            waiter.start()
            #expect(Self.waitUntil(5) { waiter.outcome != nil })
            guard case let .failed(message)? = waiter.outcome else { Issue.record("\(code) not final"); continue }
            #expect(message.hasSuffix("(\(code))"), "\(message)")
            #expect(agent.bodies("/v1/locks/x/acquire").count == 1)
        }
    }

    // MARK: Bench

    @Test func benchLoop_pairsAcquireAndReleaseOverOneConnectionToTheShardLeader() throws {
        let agent = try FakeAgent { router in
            Self.openSession(router, ttlMillis: 60_000)
            router.post("/v1/locks/{name}/acquire") { req, r in r.respond(.json(200, ["name": req.pathParameters["name"] ?? "", "mode": "exclusive", "token": 1])) }
            router.post("/v1/locks/{name}/release") { _, r in r.respond(.json(200, ["released": true])) }
            router.delete("/v1/sessions/{id}") { _, r in r.respond(.json(200, [:] as [String: Any])) }
        }
        // One shard, led by a member whose chorus.api is this fake.
        agent.router.get("/v1/shards") { _, r in
            r.respond(.json(200, [ShardView(shard: 0, replicas: ["n1"], learners: [], leader: "n1", term: 1, commitIndex: 1, appliedIndex: 1, reportedBy: "n1")]))
        }
        let address = agent.address
        agent.router.get("/v1/members") { _, r in
            r.respond(.json(200, [MemberView(name: "n1", address: "127.0.0.1:1", status: "alive", incarnation: 0, tags: ["chorus.api": address],
                                             phi: 0, lastChange: "", secondsSinceChange: 0, local: true)]))
        }
        let settings = LockBenchCommand.Settings(clients: 2, duration: .milliseconds(300), warmup: .zero, apis: [address])
        let result = try LockBenchCommand.measure(settings)
        #expect(result.failure == nil)
        #expect(result.pairs > 10)
        #expect(result.acquireMillis.count == result.pairs && result.releaseMillis.count == result.pairs)
        let paths = Set(agent.requests.map(\.path).filter { $0.hasSuffix("/acquire") })
        #expect(paths.count == 2)  // uncontended: a name per client
        for path in paths {
            #expect(path.hasPrefix("/v1/locks/bench-") && path.contains("%2Fc"))
            let ids = agent.bodies(path).compactMap { $0["request_id"] as? String }
            #expect(Set(ids).count == ids.count)
        }
        #expect(agent.bodies("/v1/sessions").count == 2)
    }

    // MARK: Keep-alive connections

    @Test func connection_isReused_andReopenedAfterTheServerClosesIt() throws {
        var settings = HTTPServerSettings()
        settings.idleTimeout = .milliseconds(200)
        let agent = try FakeAgent(settings: settings) { router in
            router.post("/echo") { req, r in r.respond(HTTPResponse(status: 200, body: req.body)) }
        }
        let connection = HTTPClientConnection(agent.address)
        for i in 0..<5 {
            let response = try connection.request(method: .post, path: "/echo", body: Array("\(i)".utf8))
            #expect(response.bodyText == "\(i)")
        }
        #expect(connection.isOpen)
        #expect(agent.connectionCount() == 1)
        usleep(600_000)  // the server closes the idle connection
        #expect(agent.connectionCount() == 0)
        let again = try connection.request(method: .post, path: "/echo", body: Array("after".utf8))
        #expect(again.bodyText == "after")
        #expect(agent.connectionCount() == 1)
    }
}
