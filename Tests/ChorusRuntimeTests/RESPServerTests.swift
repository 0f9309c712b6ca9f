import ChorusBase
import Foundation
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct RESPServerTests {
    final class Fixture: @unchecked Sendable {
        let loop: EventLoop
        let server: RESPServer
        init(maxPipeline: Int = 4, isRead: @escaping ([UInt8]) -> Bool = { _ in false }, handler: @escaping RESPServer.Handler) throws {
            loop = try EventLoop()
            server = try RESPServer(bind: Endpoint(ip: .loopbackV4, port: 0), on: loop, maxPipeline: maxPipeline, maxReads: 4,
                                    isRead: isRead, handler: handler)
            try loop.start()
        }
        deinit { loop.stop() }
    }

    /// PING answers at once; SLOW answers 50 ms later on the loop; anything else echoes its name.
    static func fixture(maxPipeline: Int = 4) throws -> Fixture {
        var loopRef: EventLoop?
        let f = try Fixture(maxPipeline: maxPipeline) { args, _, reply in
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

    /// Answers given at once are written together at the end of the input they came in
    /// with — also when that input ends inside a command, which must not hold them back.
    @Test func quickAnswers_beforeAPartialCommand_areWrittenWithoutWaitingForTheRest() throws {
        let f = try Self.fixture(maxPipeline: 1)
        guard let c = RawTCPClient(connectTo: f.server.localEndpoint) else { Issue.record("no connection"); return }
        c.write("PING\r\n*1\r\n$3\r\nabc\r\n*1\r\n$4\r\nPI")
        let first = Array("+PONG\r\n$3\r\nabc\r\n".utf8)
        #expect(c.read { $0.count >= first.count } == first)
        c.write("NG\r\n")
        #expect(c.read { $0.count >= 7 } == Array("+PONG\r\n".utf8))
    }

    /// A long pipeline of quick answers, one command in service at a time: every reply, in
    /// order, and the connection stays open (the replies leave in pieces, within the bound).
    @Test func aLongPipelineOfQuickAnswers_isAnsweredInOrder() throws {
        let f = try Self.fixture(maxPipeline: 1)
        guard let c = RawTCPClient(connectTo: f.server.localEndpoint) else { Issue.record("no connection"); return }
        let n = 5_000
        var request = ""
        var expected: [UInt8] = []
        for i in 0..<n {
            let word = "w\(i)"
            request += "*1\r\n$\(word.utf8.count)\r\n\(word)\r\n"
            expected += Array("$\(word.utf8.count)\r\n\(word)\r\n".utf8)
            if i % 500 == 3 { request += "SLOW\r\n"; expected += Array("+SLOW\r\n".utf8) }
        }
        c.write(request)
        let got = c.read { $0.count >= expected.count }
        #expect(got == expected)
    }

    /// Reads (here SLOWREAD, answered 100 ms later, and GET) are in service together, up to
    /// the read limit, while a write (SET) waits for them and the reads after it wait for the
    /// write; replies stay in command order.
    @Test func pipelinedReads_areServedTogether_writesWaitForThem() throws {
        var loopRef: EventLoop?
        let events = Recorder<String>()
        let f = try Fixture(maxPipeline: 1, isRead: { ["SLOWREAD", "GET"].contains(String(decoding: $0, as: UTF8.self)) }) { args, _, reply in
            let name = String(decoding: args[0], as: UTF8.self)
            events.append("start \(name)")
            if name == "SLOWREAD" {
                loopRef?.schedule(after: .milliseconds(100)) { events.append("end SLOWREAD"); reply(.simple("R")) }
            } else {
                reply(.simple(name))
            }
        }
        loopRef = f.loop
        guard let c = RawTCPClient(connectTo: f.server.localEndpoint) else { Issue.record("no connection"); return }
        let started = MonotonicClock.now()
        c.write("SLOWREAD\r\nSLOWREAD\r\nSLOWREAD\r\nGET\r\nSET\r\nSLOWREAD\r\n")
        let expected = Array("+R\r\n+R\r\n+R\r\n+GET\r\n+SET\r\n+R\r\n".utf8)
        #expect(c.read { $0.count >= expected.count } == expected)
        let elapsed = MonotonicClock.now() - started
        // Three reads together (100 ms), then the write, then the last read (100 ms): about
        // 200 ms, not the 400 ms of one at a time.
        #expect(elapsed < .milliseconds(350), "took \(elapsed)")
        let log = events.all
        #expect(log.prefix(4) == ["start SLOWREAD", "start SLOWREAD", "start SLOWREAD", "start GET"])
        if let set = log.firstIndex(of: "start SET") {
            #expect(log[..<set].filter { $0 == "end SLOWREAD" }.count == 3, "the write started beside reads: \(log)")
        } else {
            Issue.record("SET never started: \(log)")
        }
    }
}

@Suite struct RESPReadCommandTests {
    @Test func readCommands_areKnownInAnyCase_andNothingElseIs() {
        for name in ["GET", "get", "GeT", "MGET", "mget", "EXISTS", "exists"] { #expect(Agent.isRESPRead(Array(name.utf8)), "\(name)") }
        for name in ["SET", "GETSET", "GE", "", "DEL", "INCR", "AUTH", "EXIST", "EXISTSS", "G\u{C5}T"] {
            #expect(!Agent.isRESPRead(Array(name.utf8)), "\(name)")
        }
    }
}
