import ChorusBase
import Foundation
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct RESPServerTests {
    final class Fixture: @unchecked Sendable {
        let loop: EventLoop
        let server: RESPServer
        init(handler: @escaping RESPServer.Handler) throws {
            loop = try EventLoop()
            server = try RESPServer(bind: Endpoint(ip: .loopbackV4, port: 0), on: loop, maxPipeline: 4, handler: handler)
            try loop.start()
        }
        deinit { loop.stop() }
    }

    /// PING answers at once; SLOW answers 50 ms later on the loop; anything else echoes its name.
    static func fixture() throws -> Fixture {
        var loopRef: EventLoop?
        let f = try Fixture { args, _, reply in
            let name = String(decoding: args[0], as: UTF8.self).uppercased()
            switch name {
            case "PING": reply(.simple("PONG"))
            case "SLOW": loopRef?.schedule(after: .milliseconds(50)) { reply(.simple("SLOW")) }
            default: reply(.bulk(args[0]))
            }
        }
        loopRef = f.loop
        return f
    }

    @Test func pipelinedCommands_areAnsweredInOrder_evenWhenTheFirstIsSlow() throws {
        let f = try Self.fixture()
        guard let c = RawTCPClient(connectTo: f.server.localEndpoint) else { Issue.record("no connection"); return }
        c.write("SLOW\r\n*1\r\n$4\r\nPING\r\n*1\r\n$3\r\nabc\r\n")
        let expected = Array("+SLOW\r\n+PONG\r\n$3\r\nabc\r\n".utf8)
        let got = c.read { $0.count >= expected.count }
        #expect(got == expected)
    }

    @Test func malformedInput_getsOneErrorAndClosesOnlyThatConnection() throws {
        let f = try Self.fixture()
        guard let bad = RawTCPClient(connectTo: f.server.localEndpoint), let good = RawTCPClient(connectTo: f.server.localEndpoint) else {
            Issue.record("no connection"); return
        }
        bad.write("PING\r\n*1\r\n$x\r\n")
        let answer = String(decoding: bad.readToEnd(), as: UTF8.self)
        #expect(answer.hasPrefix("+PONG\r\n-ERR Protocol error"), "\(answer.debugDescription)")
        good.write("PING\r\n")
        #expect(good.read { $0.count >= 7 } == Array("+PONG\r\n".utf8))
    }
}
