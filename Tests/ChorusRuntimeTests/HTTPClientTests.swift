import ChorusBase
import Foundation
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct HTTPClientTests {
    /// A loopback port nobody listens on.
    func closedPort() throws -> Endpoint {
        try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0)).localEndpoint  // closed on return
    }

    @Test func connectionRefused_isAOneLineErrorNamingTheAgent() throws {
        let address = try closedPort().description
        #expect {
            try HTTPClient().request(address, path: "/v1/members", timeout: .milliseconds(2_000))
        } throws: { error in
            "\(error)" == "cannot reach agent at \(address): connection refused"
        }
    }

    @Test func silentServer_timesOutWithinTheTimeout() throws {
        // A listener that never accepts: the connect completes (backlog), no answer comes.
        let listener = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        let address = listener.localEndpoint.description
        let started = Date()
        #expect {
            try HTTPClient().request(address, path: "/", timeout: .milliseconds(200))
        } throws: { error in
            "\(error)" == "no answer from agent at \(address) within 200ms"
        }
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func malformedAddress_namesTheInput() {
        #expect {
            try HTTPClient().request("not-an-address", path: "/")
        } throws: { error in
            "\(error)".contains("not-an-address")
        }
    }

    @Test func serverClosingWithoutAnswer_isReported() throws {
        let loop = try EventLoop()
        let listener = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        listener.startAccepting(on: loop) { fd, _ in Descriptor.close(fd) }
        try loop.start()
        defer { loop.stop() }
        let address = listener.localEndpoint.description
        #expect {
            try HTTPClient(peerName: "node").request(address, path: "/")
        } throws: { error in
            guard let e = error as? HTTPClientError else { return false }
            switch e {
            case .closedEarly, .unreachable: return "\(e)".contains("node at \(address)")
            default: return false
            }
        }
    }
}

@Suite struct HTTPResponseReaderTests {
    func read(_ chunks: [String], isHead: Bool = false, max: Int = 1 << 20, close: Bool = false) -> HTTPResponseReader.Outcome {
        var reader = HTTPResponseReader(maxBytes: max, isHead: isHead)
        var last = HTTPResponseReader.Outcome.needMore
        for chunk in chunks { last = reader.feed(ArraySlice(Array(chunk.utf8))) }
        if close, case .needMore = last { last = reader.finish() }
        return last
    }

    func body(_ outcome: HTTPResponseReader.Outcome) -> String? {
        if case let .complete(r) = outcome { return r.bodyText }
        return nil
    }

    @Test func contentLengthBody_splitAcrossReads_isAssembled() {
        #expect(body(read(["HTTP/1.1 200 OK\r\nContent-Le", "ngth: 5\r\n\r\nhe", "llo"])) == "hello")
    }

    @Test func chunkedBody_isDecoded() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        #expect(body(read([text])) == "hello world")
        // Byte by byte as well.
        #expect(body(read(text.map { String($0) })) == "hello world")
    }

    @Test func closeDelimitedBody_completesAtEndOfStream() {
        #expect(body(read(["HTTP/1.0 200 OK\r\n\r\nuntil close"], close: true)) == "until close")
    }

    @Test func interim100_isSkipped() {
        #expect(body(read(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"])) == "ok")
    }

    @Test func headResponse_hasNoBodyDespiteContentLength() {
        #expect(body(read(["HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"], isHead: true)) == "")
    }

    @Test(arguments: ["HTTP/1.1 2000 OK\r\n\r\n", "SPDY/3 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
    func malformedResponse_isReportedNotTrapped(_ text: String) {
        guard case .malformed = read([text]) else { Issue.record("expected malformed for \(text.debugDescription)"); return }
    }

    @Test func responseBeyondTheLimit_isRefused() {
        guard case .tooLarge = read(["HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"], max: 100) else {
            Issue.record("expected tooLarge"); return
        }
    }
}
