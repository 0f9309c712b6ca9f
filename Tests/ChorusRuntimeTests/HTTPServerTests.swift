import ChorusBase
import Foundation
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct HTTPServerTests {
    /// A loop running an HTTP server with `handler` on a free loopback port. The server is
    /// only touched on the loop (through `onLoop`), hence the unchecked conformance.
    final class Fixture: @unchecked Sendable {
        let loop: EventLoop
        let server: HTTPServer
        var address: String { server.localEndpoint.description }
        var endpoint: Endpoint { server.localEndpoint }

        init(settings: HTTPServerSettings = HTTPServerSettings(), bind: Endpoint = Endpoint(ip: .loopbackV4, port: 0),
             handler: @escaping HTTPServer.Handler) throws {
            loop = try EventLoop()
            server = try HTTPServer(bind: bind, on: loop, settings: settings, handler: handler)
            try loop.start()
        }

        deinit { loop.stop() }
    }

    static func echoRouter() -> HTTPRouter {
        let router = HTTPRouter()
        router.get("/hello") { req, r in r.respond(.json(200, ["hello": req.query("name") ?? "world"])) }
        router.post("/echo") { req, r in r.respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], body: req.body)) }
        router.get("/slow/{ms}") { req, r in
            let ms = UInt32(req.pathParameters["ms"] ?? "0") ?? 0
            Thread.detachNewThread {
                usleep(ms * 1_000)
                r.respond(.text(200, "slept \(ms)"))
            }
        }
        router.get("/never") { _, r in
            // Keep the responder alive without answering.
            Thread.detachNewThread { usleep(2_000_000); _ = r }
        }
        return router
    }

    /// Splits concatenated HTTP responses (Content-Length framed) into (status, body) pairs.
    static func responses(in bytes: [UInt8]) -> [(status: Int, headers: String, body: String)] {
        var out: [(Int, String, String)] = []
        var rest = bytes[...]
        while let range = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: rest[rest.startIndex..<range.lowerBound], as: UTF8.self)
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
            let bodyStart = range.upperBound
            let bodyEnd = min(bodyStart + length, rest.endIndex)
            out.append((status, head, String(decoding: rest[bodyStart..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return out
    }

    static func responseCount(_ bytes: [UInt8]) -> Int {
        let parsed = responses(in: bytes)
        // Count only those whose body has fully arrived.
        var total = 0
        for r in parsed where r.status != 100 { total += 1; _ = r }
        return total
    }

    @Test(arguments: [Endpoint(ip: .loopbackV4, port: 0), Endpoint(ip: .loopbackV6, port: 0)])
    func get_throughTheClient_returnsJSONFromTheHandler(bind: Endpoint) throws {
        let f = try Fixture(bind: bind, handler: Self.echoRouter().handler)
        let response = try HTTPClient().request(f.address, path: "/hello?name=a%20b")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.bodyText == #"{"hello":"a b"}"# + "\n")
    }

    @Test func post_bodyIsDeliveredToTheHandler() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let payload = Array((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        let response = try HTTPClient().request(method: .post, f.address, path: "/echo", body: payload)
        #expect(response.status == 200)
        #expect(response.body == payload)
    }

    @Test func keepAlive_servesTwoRequestsOnOneConnection() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = raw.read { Self.responseCount($0) >= 1 }
        raw.write("GET /hello?name=again HTTP/1.1\r\nHost: x\r\n\r\n")
        let second = raw.read { Self.responseCount($0) >= 1 }
        #expect(Self.responses(in: first).map(\.body) == [#"{"hello":"world"}"# + "\n"])
        #expect(Self.responses(in: second).map(\.body) == [#"{"hello":"again"}"# + "\n"])
    }

    @Test func pipelinedRequests_areAnsweredInRequestOrder() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        // The first answer is deferred to another thread; the second is immediate.
        raw.write("GET /slow/80 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?name=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let all = raw.readToEnd()
        #expect(Self.responses(in: all).map(\.body) == ["slept 80", #"{"hello":"world"}"# + "\n", #"{"hello":"3"}"# + "\n"])
    }

    @Test func malformedRequest_gets400JSONErrorAndTheConnectionCloses() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("THIS IS NOT HTTP\r\n\r\n")
        let all = raw.readToEnd()  // returns only because the server closed
        let answers = Self.responses(in: all)
        #expect(answers.map(\.status) == [400])
        #expect(answers.first?.headers.contains("Connection: close") == true)
        #expect(answers.first?.body.hasPrefix(#"{"error":{"code":"bad_request","message":"#) == true)
    }

    @Test func oversizedHead_gets431() throws {
        var settings = HTTPServerSettings()
        settings.maxHeadBytes = 2_048
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 4_000) + "\r\n\r\n")
        #expect(Self.responses(in: raw.readToEnd()).map(\.status) == [431])
    }

    @Test func oversizedBody_gets413BeforeTheBodyIsSent() throws {
        var settings = HTTPServerSettings()
        settings.maxBodyBytes = 1_000
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        let answers = Self.responses(in: raw.readToEnd())
        #expect(answers.map(\.status) == [413])
        #expect(answers.first?.body.contains("body_too_large") == true)
    }

    @Test func oversizedBodySentAtOnce_stillLetsTheClientRead413() throws {
        var settings = HTTPServerSettings()
        settings.maxBodyBytes = 1_000
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        // No Expect: the whole body follows the head, and most of it is never read. Closing
        // with unread input would reset the connection and could destroy the 413 in flight.
        raw.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        raw.write([UInt8](repeating: 0x61, count: 5_000_000))
        #expect(Self.responses(in: raw.readToEnd()).map(\.status) == [413])
    }

    @Test func chunkedUpload_gets411() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(Self.responses(in: raw.readToEnd()).map(\.status) == [411])
    }

    @Test func expectContinue_getsInterim100ThenTheAnswer() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = raw.read { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }
        #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        raw.write("hello")
        let final = raw.read { Self.responseCount($0) >= 1 && Self.responses(in: $0).first?.body == "hello" }
        #expect(Self.responses(in: final).map(\.body) == ["hello"])
    }

    @Test func slowHeaders_getA408AndTheConnectionCloses() throws {
        var settings = HTTPServerSettings()
        settings.headerTimeout = .milliseconds(150)
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        let started = Date()
        raw.write("GET /hello HTTP/1.1\r\n")  // and never the rest
        let answers = Self.responses(in: raw.readToEnd())
        #expect(answers.map(\.status) == [408])
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func silentConnection_isClosedAfterTheHeaderTimeout() throws {
        var settings = HTTPServerSettings()
        settings.headerTimeout = .milliseconds(100)
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        #expect(raw.peerClosed())
        #expect(eventually { onLoop(f.loop) { f.server.connectionCount } == 0 })
    }

    @Test func idleKeepAliveConnection_isClosedAfterTheIdleTimeout() throws {
        var settings = HTTPServerSettings()
        settings.idleTimeout = .milliseconds(100)
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let raw = try #require(RawTCPClient(connectTo: f.endpoint))
        raw.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let started = Date()
        let all = raw.readToEnd()
        #expect(Self.responses(in: all).map(\.status) == [200])
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func connectionsBeyondTheLimit_get503() throws {
        var settings = HTTPServerSettings()
        settings.maxConnections = 2
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let a = try #require(RawTCPClient(connectTo: f.endpoint))
        let b = try #require(RawTCPClient(connectTo: f.endpoint))
        #expect(eventually { onLoop(f.loop) { f.server.connectionCount } == 2 })
        let c = try #require(RawTCPClient(connectTo: f.endpoint))
        let answers = Self.responses(in: c.readToEnd())
        #expect(answers.map(\.status) == [503])
        #expect(answers.first?.body.contains("too_many_connections") == true)
        _ = (a, b)
    }

    @Test func handlerThatNeverAnswers_getsA503AfterTheResponseTimeout() throws {
        var settings = HTTPServerSettings()
        settings.responseTimeout = .milliseconds(150)
        let f = try Fixture(settings: settings, handler: Self.echoRouter().handler)
        let response = try HTTPClient().request(f.address, path: "/never")
        #expect(response.status == 503)
        #expect(response.apiError?.code == "response_timeout")
    }

    @Test func metricsRegistry_servedOverHTTP_keepsItsContentType() throws {
        let registry = MetricsRegistry()
        try registry.counter("chorus_requests_total", help: "Requests.").increment()
        let f = try Fixture { _, r in
            r.respond(.text(200, registry.render(), contentType: MetricsRegistry.contentType))
        }
        let response = try HTTPClient().request(f.address, path: "/metrics")
        #expect(response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.bodyText?.contains("chorus_requests_total 1\n") == true)
    }

    @Test func headRequest_getsHeadersWithoutBody() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let response = try HTTPClient().request(method: .head, f.address, path: "/hello")
        #expect(response.status == 200)
        #expect(response.headers["Content-Length"] == "18")
        #expect(response.body.isEmpty)
    }

    @Test func unknownPathAndWrongMethod_get404And405ThroughTheServer() throws {
        let f = try Fixture(handler: Self.echoRouter().handler)
        let missing = try HTTPClient().request(f.address, path: "/missing")
        #expect(missing.status == 404)
        #expect(missing.apiError?.code == "not_found")
        let wrong = try HTTPClient().request(method: .delete, f.address, path: "/hello")
        #expect(wrong.status == 405)
        #expect(wrong.headers["Allow"] == "GET, HEAD")
    }
}
