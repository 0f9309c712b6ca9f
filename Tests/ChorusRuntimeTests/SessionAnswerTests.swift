import ChorusBase
import Foundation
import Testing
@testable import ChorusRuntime

/// What the lock service answers about sessions that are not (or no longer) open: a client
/// is told the session is gone, never told to retry something no retry can change.
@Suite struct SessionAnswerTests {
    static func singleNode() throws -> TestAgent {
        try TestAgent(name: "n1") { $0.placement.shardCount = 4; $0.placement.replicationFactor = 1 }
    }

    /// The id of a session opened on `node` once its shards have leaders.
    static func openSession(_ node: TestAgent) throws -> String {
        var id: String?
        _ = eventually(timeout: 20) {
            guard let r = try? node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 10000}"#), r.status == 200 else { return false }
            id = (try? r.decodeJSON(JSONValue.self))?.objectValue?["id"]?.stringValue
            return id != nil
        }
        return try #require(id)
    }

    /// A retried open (same request id) gets the session the first open made, and the TTL
    /// that session has, whatever TTL the retry asked for; once that session has ended, the
    /// retry is told so rather than handed a lease that no longer runs.
    @Test func retriedSessionOpen_answersTheFirstSessionAndItsTTL() throws {
        let node = try Self.singleNode()
        defer { node.stop() }
        var first: JSONValue?
        #expect(eventually(timeout: 20) {
            guard let r = try? node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 10000, "request_id": "same"}"#),
                  r.status == 200 else { return false }
            first = try? r.decodeJSON(JSONValue.self)
            return first != nil
        })
        let retry = try node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 20000, "request_id": "same"}"#)
        #expect(retry.status == 200)
        let again = try retry.decodeJSON(JSONValue.self).objectValue
        #expect(again?["id"] != nil && again?["id"] == first?.objectValue?["id"])
        #expect(again?["ttl_ms"] == .integer(10000), "\(retry.bodyText ?? "")")
        let id = try #require(again?["id"]?.stringValue)
        #expect(try node.request(.delete, "/v1/sessions/\(id)").status == 200)
        let late = try node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 20000, "request_id": "same"}"#)
        #expect(late.status == 409 && late.apiError?.code == "session_expired", "\(late.bodyText ?? "")")
    }

    /// An acquire naming a well-formed session id its home shard never opened is refused at
    /// once as expired (409), not left waiting for a confirmation that cannot come.
    @Test func acquireWithASessionNeverOpened_isSessionExpiredAtOnce() throws {
        let node = try Self.singleNode()
        defer { node.stop() }
        let real = try Self.openSession(node)
        // Every home shard, an index each has applied (the first), an opening time no session
        // has: at least three of the four homes differ from the lock's shard, so the acquire
        // asks the home to confirm the session.
        for home in 0..<4 {
            let madeUp = "\(home)-1-1"
            #expect(madeUp != real)
            let started = Date()
            let r = try node.request(.post, "/v1/locks/orders/acquire", body: #"{"session": "\#(madeUp)", "wait_ms": 0}"#)
            let took = Date().timeIntervalSince(started)
            #expect(r.status == 409 && r.apiError?.code == "session_expired", "\(madeUp): \(r.bodyText ?? "")")
            #expect(took < 2, "\(madeUp): the refusal took \(took) s")
        }
    }

    /// A close may reuse the request id of the open that made its session: the ledger keeps
    /// the two apart, so the close closes it (instead of getting the open's answer back).
    @Test func closeReusingTheOpensRequestID_closesTheSession() throws {
        let node = try Self.singleNode()
        defer { node.stop() }
        var id: String?
        #expect(eventually(timeout: 20) {
            guard let r = try? node.request(.post, "/v1/sessions", body: #"{"ttl_ms": 10000, "request_id": "job-1"}"#),
                  r.status == 200 else { return false }
            id = (try? r.decodeJSON(JSONValue.self))?.objectValue?["id"]?.stringValue
            return id != nil
        })
        let session = try #require(id)
        let close = try node.request(.delete, "/v1/sessions/\(session)?request_id=job-1")
        #expect(close.status == 200 && close.bodyText?.contains(#""closed":true"#) == true, "\(close.bodyText ?? "")")
        let keepAlive = try node.request(.post, "/v1/sessions/\(session)/keepalive")
        #expect(keepAlive.status == 404, "\(keepAlive.bodyText ?? "")")
    }
}
