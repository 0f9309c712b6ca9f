import Foundation
import Testing
@testable import ChorusRuntime

@Suite struct LogTests {
    @Test func textFormat_putsTimestampLevelMessageAndFields() {
        let line = Log.render(level: .info, message: "member joined", fields: ["peer": "10.0.0.2:7946", "incarnation": 3],
                              format: .text, timestamp: "2026-11-22T00:00:00.000Z")
        #expect(line == "2026-11-22T00:00:00.000Z INFO member joined peer=10.0.0.2:7946 incarnation=3")
    }

    @Test func textFormat_quotesValuesThatNeedIt_andKeepsOneLine() {
        let line = Log.render(level: .warn, message: "two\nlines", fields: ["reason": "peer said \"no\"", "empty": ""],
                              format: .text, timestamp: "T")
        #expect(line == #"T WARN two\nlines reason="peer said \"no\"" empty="""#)
        #expect(!line.contains("\n"))
    }

    @Test func jsonFormat_isOneValidObjectWithTypedFields() throws {
        let line = Log.render(level: .error, message: "bind \"failed\"", fields: ["port": 7946, "fatal": true, "ratio": 0.5, "addr": "::1"],
                              format: .json, timestamp: "2026-11-22T00:00:00.000Z")
        #expect(line == #"{"ts":"2026-11-22T00:00:00.000Z","level":"error","msg":"bind \"failed\"","fields":{"port":7946,"fatal":true,"ratio":0.5,"addr":"::1"}}"#)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["msg"] as? String == "bind \"failed\"")
    }

    @Test func entriesBelowTheLevel_areNotWritten() {
        let lines = Recorder<String>()
        let log = Log(level: .warn, format: .text) { lines.append($0) }
        log.debug("d")
        log.info("i")
        log.warn("w")
        log.error("e")
        #expect(lines.all.map { $0.split(separator: " ").dropFirst().joined(separator: " ") } == ["WARN w", "ERROR e"])
        log.level = .debug
        log.debug("now visible")
        #expect(lines.count == 3)
    }

    @Test func timestamp_isUTCWithMilliseconds() {
        let lines = Recorder<String>()
        Log(format: .text) { lines.append($0) }.info("x")
        let ts = String(lines.all.first?.split(separator: " ").first ?? "")
        #expect(ts.count == 24)
        #expect(ts.hasSuffix("Z"))
        #expect(ts.dropFirst(10).first == "T")
    }

    @Test func concurrentWriters_produceWholeLines() {
        let lines = Recorder<String>()
        let log = Log(format: .json) { lines.append($0) }
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for i in 0..<250 { log.info("message", ["worker": worker, "i": i]) }
        }
        #expect(lines.count == 1_000)
        #expect(lines.all.allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}}") })
    }

    @Test(arguments: [("debug", Log.Level.debug), ("INFO", .info), ("warning", .warn), ("Error", .error)])
    func levelNames_parse(_ text: String, level: Log.Level) {
        #expect(Log.Level(parsing: text) == level)
    }
}
