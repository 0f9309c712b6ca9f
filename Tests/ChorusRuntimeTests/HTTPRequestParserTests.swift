import Testing
@testable import ChorusRuntime

@Suite struct HTTPRequestParserTests {
    func parse(_ text: String, settings: HTTPServerSettings = HTTPServerSettings()) -> HTTPRequestParser.Outcome {
        var parser = HTTPRequestParser(settings: settings)
        return parser.parse(ArraySlice(Array(text.utf8)))
    }

    func head(_ text: String) throws -> HTTPRequestHead {
        guard case let .head(head, _) = parse(text) else {
            Issue.record("expected a head from \(text.debugDescription), got \(parse(text))")
            throw CancellationError()
        }
        return head
    }

    func failureStatus(_ text: String, settings: HTTPServerSettings = HTTPServerSettings()) -> Int? {
        if case let .failure(error) = parse(text, settings: settings) { return error.status }
        return nil
    }

    @Test func wellFormedGet_parsesMethodTargetHeadersAndLength() throws {
        let text = "GET /v1/members?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  spaced value \r\n\r\nEXTRA"
        guard case let .head(head, length) = parse(text) else { Issue.record("no head"); return }
        #expect(length == text.utf8.count - 5)
        #expect(head.method == .get)
        #expect(head.target == "/v1/members?x=1")
        #expect(head.version == .http11)
        #expect(head.headers["x-thing"] == "spaced value")
        #expect(head.contentLength == 0)
        #expect(head.keepAlive)
    }

    @Test func incompleteHead_needsMoreBytes() {
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n") == .needMore)
    }

    @Test func headDeliveredOneByteAtATime_isFoundOnce() {
        let text = Array("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n".utf8)
        var parser = HTTPRequestParser(settings: HTTPServerSettings())
        for n in 1..<text.count {
            #expect(parser.parse(ArraySlice(text[0..<n])) == .needMore)
        }
        guard case let .head(head, length) = parser.parse(ArraySlice(text)) else { Issue.record("no head"); return }
        #expect(length == text.count)
        #expect(head.contentLength == 3)
    }

    @Test func bareLineFeeds_areAcceptedAsLineEnds() throws {
        let head = try head("GET / HTTP/1.1\nHost: a\n\n")
        #expect(head.headers["host"] == "a")
    }

    @Test func connectionClose_orHTTP10_disablesKeepAlive() throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\n\r\n").keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive == true)
    }

    @Test func expect100Continue_isRecognised() throws {
        #expect(try head("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").expectsContinue)
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET relative HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
        ("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /?q=%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417),
    ])
    func malformedOrRefusedHead_failsWithStatus(_ text: String, status: Int) {
        #expect(failureStatus(text) == status)
    }

    @Test func headLargerThanTheLimit_fails431EvenWithoutItsEnd() {
        var settings = HTTPServerSettings()
        settings.maxHeadBytes = 1_024
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 2_000)
        #expect(failureStatus(text, settings: settings) == 431)
    }

    @Test func tooManyHeaderFields_fails431() {
        var settings = HTTPServerSettings()
        settings.maxHeaderCount = 5
        let text = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<5).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(failureStatus(text, settings: settings) == 431)
    }

    @Test func arbitraryBytes_neverTrap() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("GET /?%:\r\n HTTP/1.1Content-Length: 0123456789\t\u{0}".utf8)
        for _ in 0..<2_000 {
            let n = Int.random(in: 0..<200, using: &generator)
            let bytes = (0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            var parser = HTTPRequestParser(settings: HTTPServerSettings())
            _ = parser.parse(ArraySlice(bytes))
        }
    }
}
