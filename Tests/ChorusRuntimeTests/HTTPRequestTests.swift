import Testing
@testable import ChorusRuntime

@Suite struct HTTPRequestTests {
    @Test func queryParameters_arePercentDecodedWithPlusAsSpace() {
        let r = HTTPRequest(method: .get, target: "/v1/x?name=a%20b&tag=c+d&tag=e&flag&%C3%A9=%E2%9C%93")
        #expect(r.path == "/v1/x")
        #expect(r.query("name") == "a b")
        #expect(r.query["tag"] == "c d")
        #expect(r.queryItems.filter { $0.name == "tag" }.map(\.value) == ["c d", "e"])
        #expect(r.query("flag") == "")
        #expect(r.query("é") == "✓")
    }

    @Test func path_isDecodedWhileRawPathKeepsEncoding() {
        let r = HTTPRequest(method: .get, target: "/v1/locks/a%2Fb")
        #expect(r.rawPath == "/v1/locks/a%2Fb")
        #expect(r.path == "/v1/locks/a/b")
    }

    @Test func headers_lookUpCaseInsensitivelyAndDropLineBreaks() {
        var h = HTTPHeaders()
        h.add("Content-Type", "text/plain")
        h.add("X-Evil", "a\r\nInjected: yes")
        #expect(h["content-type"] == "text/plain")
        #expect(h["CONTENT-TYPE"] == "text/plain")
        #expect(h["x-evil"] == "aInjected: yes")
        h.set("content-type", "application/json")
        #expect(h.values("Content-Type") == ["application/json"])
    }
}
