import ChorusBase
import ChorusMembership
import Foundation
import Testing
@testable import ChorusRuntime

@Suite struct AgentAPITests {

    @Test func badRequests_getJSONErrorsWithFittingStatus() throws {
        let node = try TestAgent(name: "n1")
        defer { node.stop() }
        let cases: [(HTTPMethod, String, String?, Int)] = [
            (.post, "/v1/join", "not json", 400),
            (.post, "/v1/join", #"{"addresses": []}"#, 400),
            (.post, "/v1/join", #"{"addresses": ["no-port"]}"#, 400),
            (.post, "/v1/join", #"{"addresses": [7946]}"#, 400),
            (.post, "/v1/join", #"{"seeds": ["127.0.0.1:1"]}"#, 400),
            (.post, "/v1/join", #"{"addresses": ["no-such-host.invalid:7946"]}"#, 400),
            (.put, "/v1/tags", #"{"set": {"a": 1}}"#, 400),
            (.put, "/v1/tags", #"["a"]"#, 400),
            (.put, "/v1/tags", #"{"set": {"": "x"}}"#, 400),
            (.get, "/v1/members?status=zombie", nil, 400),
            (.delete, "/v1/members", nil, 405),
            (.get, "/v1/nothing", nil, 404),
            (.post, "/v1/join", String(repeating: " ", count: 2_200_000), 413),
        ]
        for (method, path, body, status) in cases {
            let response = try node.request(method, path, body: body)
            #expect(response.status == status, "\(method) \(path) \(body?.prefix(40) ?? "")")
            #expect(response.apiError != nil, "\(method) \(path)")
        }
    }

    @Test func tags_patchAndReplace_areAnnounced() throws {
        let node = try TestAgent(name: "n1") { $0.tags = try! Tags(["zone": "a"]) }
        defer { node.stop() }
        // The agent's own tags (Raft id, API address, shard set) are kept through every change.
        func userTags() -> [String: String]? { node.members().first?.tags.filter { !$0.key.hasPrefix("chorus.") } }
        let reserved = node.members().first?.tags.filter { $0.key.hasPrefix("chorus.") } ?? [:]
        #expect(reserved.keys.sorted() == ["chorus.api", "chorus.life", "chorus.raft", "chorus.shards"])
        var r = try node.request(.put, "/v1/tags", body: #"{"set": {"role": "web", "v": "2"}}"#)
        #expect(r.status == 200)
        #expect(userTags() == ["zone": "a", "role": "web", "v": "2"])
        r = try node.request(.put, "/v1/tags", body: #"{"delete": ["zone", "v"]}"#)
        #expect(userTags() == ["role": "web"])
        r = try node.request(.put, "/v1/tags", body: #"{"only": "this"}"#)
        #expect(r.status == 200)
        #expect(userTags() == ["only": "this"])
        #expect(node.members().first?.tags.filter { $0.key.hasPrefix("chorus.") } == reserved)
        #expect(node.members().first?.incarnation == 3)
        r = try node.request(.put, "/v1/tags", body: #"{"set": {"chorus.raft": "1"}}"#)
        #expect(r.status == 400 && r.apiError?.code == "reserved_tag")
    }

    @Test func info_health_andMetrics_describeTheNode() throws {
        let node = try TestAgent(name: "n1", cluster: "blue")
        defer { node.stop() }
        let info = try #require(try node.request("/v1/info").decodeJSON(JSONValue.self).objectValue)
        #expect(info["name"] == .string("n1"))
        #expect(info["cluster"] == .string("blue"))
        #expect(info["address"] == .string(node.gossip.description))
        #expect(info["members"]?.objectValue?["alive"] == .integer(1))
        #expect(info["settings"]?.objectValue?["probe_interval_ms"]?.doubleValue == 1000)
        #expect(info["joined"] == .bool(true))
        #expect(try node.request("/health").status == 200)

        let metrics = try #require(try node.request("/metrics").bodyText)
        for name in ["chorus_messages_total", "chorus_message_bytes_total", "chorus_probes_total", "chorus_acks_total",
                     "chorus_nacks_total", "chorus_suspicions_raised_total", "chorus_suspicions_refuted_total",
                     "chorus_members{status=\"alive\"} 1", "chorus_local_health_multiplier 1",
                     "chorus_probe_rtt_seconds_bucket{le=\"+Inf\"}", "chorus_packets_dropped_total{reason=\"wrong_cluster\"}",
                     "chorus_stream_probes_total{result=\"sent\"}", "chorus_stream_probes_total{result=\"answered\"}",
                     "chorus_updates_streamed_total", "chorus_member_updates_total{outcome=\"refused\"}",
                     "chorus_member_updates_total{outcome=\"applied\"}"] {
            #expect(metrics.contains(name), "\(name)")
        }
    }

    @Test func twoAgents_joinAndLeaveThroughTheAPI() throws {
        let a = try TestAgent(name: "a")
        let b = try TestAgent(name: "b")
        defer { a.stop(); b.stop() }
        let joined = try b.request(.post, "/v1/join", body: #"{"addresses": ["\#(a.gossip)"]}"#)
        #expect(joined.status == 200)
        #expect(eventually { a.status(of: "b") == "alive" && b.status(of: "a") == "alive" })

        let left = try b.request(.post, "/v1/leave")
        #expect(left.status == 200)
        #expect(eventually { b.agent.isStopped })
        #expect(b.agent.exitStatus == 0)
        #expect(eventually { a.status(of: "b") == "left" })
    }

    @Test func join_withNoAnswer_says503AndKeepsRetrying() throws {
        let node = try TestAgent(name: "n1") { $0.membership.joinTimeout = .milliseconds(200) }
        defer { node.stop() }
        let r = try node.request(.post, "/v1/join", body: #"{"addresses": ["127.0.0.1:1"]}"#)
        #expect(r.status == 503)
        #expect(r.apiError?.code == "join_pending")
    }

    @Test func ipv6_agentsJoinOverLoopback() throws {
        guard (try? UDPSocket(bind: Endpoint(ip: .loopbackV6, port: 0))) != nil else { return }
        let a = try TestAgent(name: "a6", ip: .loopbackV6)
        let b = try TestAgent(name: "b6", seeds: [a.gossip.description], ip: .loopbackV6)
        defer { a.stop(); b.stop() }
        #expect(eventually { a.status(of: "b6") == "alive" && b.status(of: "a6") == "alive" })
        #expect(b.members().first { $0.name == "a6" }?.address == a.gossip.description)
    }
}

@Suite struct RequestIDInputTests {
    /// A request id travels in an HTTP header when a request is forwarded: one with a line
    /// break (or any control character) is refused up front, never forwarded.
    @Test func requestIDWithControlCharacters_isRefused() throws {
        let node = try TestAgent(name: "r1")
        defer { node.stop() }
        var r = try node.request(.put, "/v1/kv/k?request_id=a%0D%0AX-Evil:%201", body: "v")
        #expect(r.status == 400 && r.apiError?.code == "invalid_request", "\(r.bodyText ?? "")")
        r = try node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 5000, "request_id": "a\r\nb"}"#)
        #expect(r.status == 400, "\(r.bodyText ?? "")")
        r = try node.request(.post, "/v1/locks/x/acquire", body: #"{"session": "0-1-2", "request_id": "a\u0007"}"#)
        #expect(r.status == 400, "\(r.bodyText ?? "")")
        r = try node.request(.put, "/v1/kv/k?request_id=" + String(repeating: "x", count: 129), body: "v")
        #expect(r.status == 400, "\(r.bodyText ?? "")")
    }

    /// The ledger id of an acquire or release adds the kind and the session to the client's
    /// id; a client id of the full 128 bytes must still be served, and a retry must still
    /// get the first answer.
    @Test func lockRequestIDOf128Bytes_isServedAndDeduplicated() throws {
        let node = try TestAgent(name: "n1") { $0.placement.shardCount = 4; $0.placement.replicationFactor = 1 }
        defer { node.stop() }
        var session: String?
        #expect(eventually(timeout: 20) {
            guard let r = try? node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 10000}"#), r.status == 200 else { return false }
            session = (try? r.decodeJSON(JSONValue.self))?.objectValue?["id"]?.stringValue
            return session != nil
        })
        let id = try #require(session)
        let requestID = String(repeating: "r", count: 128)
        let body = #"{"session": "\#(id)", "request_id": "\#(requestID)"}"#
        let first = try node.request(.post, "/v1/locks/orders/acquire", body: body)
        #expect(first.status == 200, "\(first.bodyText ?? "")")
        let retry = try node.request(.post, "/v1/locks/orders/acquire", body: body)
        #expect(retry.status == 200 && retry.body == first.body, "\(retry.bodyText ?? "")")
        let release = try node.request(.post, "/v1/locks/orders/release", body: body)
        #expect(release.status == 200, "\(release.bodyText ?? "")")
    }
}
