import Foundation
import Testing
@testable import ChorusRuntime

@Suite struct HTTPResponseTests {
    struct Member: Encodable { let name: String; let port: Int }

    @Test func errorHelper_producesTheAPIErrorShape() {
        let r = HTTPResponse.error(404, code: "not_found", message: "no such \"lock\"")
        #expect(r.status == 404)
        #expect(r.headers["Content-Type"] == "application/json")
        #expect(r.bodyText == #"{"error":{"code":"not_found","message":"no such \"lock\""}}"# + "\n")
    }

    @Test func jsonHelper_encodesEncodableWithSortedKeys() {
        let r = HTTPResponse.json(200, Member(name: "n1", port: 7946))
        #expect(r.bodyText == #"{"name":"n1","port":7946}"# + "\n")
    }

    @Test func jsonHelper_encodesDictionaries() {
        let r = HTTPResponse.json(201, ["ok": true, "count": 3, "names": ["a", "b"]])
        #expect(r.status == 201)
        #expect(r.bodyText == #"{"count":3,"names":["a","b"],"ok":true}"# + "\n")
    }

    @Test func jsonHelper_withNonJSONValue_answers500InsteadOfTrapping() {
        let r = HTTPResponse.json(200, ["when": Date()])
        #expect(r.status == 500)
        #expect(r.bodyText?.contains("encoding_failed") == true)
    }

    @Test func encoder_ownsFramingHeadersAndOmitsBodyForHead() {
        var r = HTTPResponse.text(200, "hello")
        r.headers.add("Content-Length", "999")
        r.headers.add("Connection", "upgrade")
        let full = String(decoding: HTTPResponseEncoder.encode(r, omitBody: false, close: true), as: UTF8.self)
        #expect(full.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(full.contains("Content-Length: 5\r\n"))
        #expect(!full.contains("999"))
        #expect(full.contains("Connection: close\r\n"))
        #expect(!full.contains("upgrade"))
        #expect(full.hasSuffix("\r\n\r\nhello"))
        let head = String(decoding: HTTPResponseEncoder.encode(r, omitBody: true, close: false), as: UTF8.self)
        #expect(head.contains("Content-Length: 5\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
    }

    @Test func encoder_sendsNoContentLengthFor204() {
        let bytes = HTTPResponseEncoder.encode(HTTPResponse(status: 204), omitBody: false, close: false)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("Content-Length"))
    }
}
