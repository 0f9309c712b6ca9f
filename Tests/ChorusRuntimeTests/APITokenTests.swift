import ChorusBase
import Foundation
import Testing
@testable import ChorusRuntime

/// With a token set, the API serves only requests that carry it (but `GET /health`), and
/// answers others 401 with a JSON error; tokens compare by content, in constant time.
@Suite struct APITokenTests {
    static let secret = "s3cret-token-0123456789"

    @Test func requestsWithoutTheToken_get401JSON_butHealthIsOpen() throws {
        let node = try TestAgent(name: "a") { $0.apiToken = try? APIToken(Self.secret) }
        defer { node.stop() }
        let client = HTTPClient()
        func call(_ method: HTTPMethod, _ path: String, _ authorization: String?) throws -> HTTPClientResponse {
            var headers = HTTPHeaders()
            if let authorization { headers.set("Authorization", authorization) }
            return try client.request(method: method, node.api, path: path, headers: headers)
        }
        #expect(try call(.get, "/health", nil).status == 200)
        for path in ["/v1/members", "/v1/info", "/metrics", "/no/such/path"] {
            let r = try call(.get, path, nil)
            #expect(r.status == 401, "\(path)")
            #expect(r.apiError?.code == "unauthorized", "\(path)")
        }
        for wrong in ["Bearer wrong", "Bearer \(Self.secret)x", "Bearer \(Self.secret.dropLast())", "bearer \(Self.secret)",
                      "Basic \(Self.secret)", "Bearer ", Self.secret] {
            #expect(try call(.get, "/v1/members", wrong).status == 401, "\(wrong)")
        }
        #expect(try call(.post, "/v1/leave", nil).status == 401)
        // A refused leave changes nothing: the agent still serves below.
        #expect(try call(.get, "/v1/members", "Bearer \(Self.secret)").status == 200)
        #expect(try call(.get, "/metrics", "Bearer \(Self.secret)").status == 200)
    }

    @Test func withoutATokenFile_theAPIIsOpen() throws {
        let node = try TestAgent(name: "a")
        defer { node.stop() }
        #expect(try node.request("/v1/members").status == 200)
    }

    @Test func tokens_areCheckedWhenMade_andLoadedTrimmed() throws {
        #expect(throws: AgentStartError.self) { try APIToken("short") }
        #expect(throws: AgentStartError.self) { try APIToken(String(repeating: "x", count: APIToken.maxBytes + 1)) }
        #expect(throws: AgentStartError.self) { try APIToken("with a space in it, long enough") }
        #expect(throws: AgentStartError.self) { try APIToken.load(path: "/nonexistent/token") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-token-\(UInt32.random(in: 0...UInt32.max))").path
        try Data((Self.secret + "\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try APIToken.load(path: path) == APIToken(Self.secret))
    }

    @Test func constantTimeEqual_comparesContentAndLength() {
        let b = Array("abcdef".utf8)
        #expect(APIToken.constantTimeEqual(ArraySlice(b), b))
        #expect(!APIToken.constantTimeEqual(ArraySlice(Array("abcdeg".utf8)), b))
        #expect(!APIToken.constantTimeEqual(ArraySlice(Array("abcde".utf8)), b))
        #expect(!APIToken.constantTimeEqual(ArraySlice(Array("abcdefg".utf8)), b))
        #expect(!APIToken.constantTimeEqual(ArraySlice([]), b))
    }
}
