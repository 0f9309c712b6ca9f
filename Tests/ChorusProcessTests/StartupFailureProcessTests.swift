import ChorusBase
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// `chorus agent` processes that cannot start: each exits non-zero with one line naming the
/// problem.
@Suite struct StartupFailureProcessTests {

    @Test func portInUse_exitsNonZeroNamingTheAddress() throws {
        let (gossip, api) = try FreePorts.pair()
        let taken = try UDPSocket(bind: Endpoint(ip: .loopbackV4, port: gossip))
        defer { taken.close() }
        let run = try runChorus(["agent", "--name", "x", "--bind", "127.0.0.1:\(gossip)", "--api", "127.0.0.1:\(api)"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("127.0.0.1:\(gossip) already in use"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test func badConfig_exitsNonZeroNamingTheKey() throws {
        let dir = NSTemporaryDirectory() + "chorus-badconfig-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/agent.json"
        try #"{"name": "x", "suspicion_multiplyer": 3}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try runChorus(["agent", "--config", path])
        #expect(run.status == 1)
        #expect(run.stderr.contains(#"unknown key "suspicion_multiplyer""#), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test func unwritableDataDirectory_exitsNonZeroNamingIt() throws {
        let dir = NSTemporaryDirectory() + "chorus-baddir-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/not-a-directory"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let (gossip, api) = try FreePorts.pair()
        let run = try runChorus(["agent", "--name", "x", "--bind", "127.0.0.1:\(gossip)", "--api", "127.0.0.1:\(api)",
                                 "--data-dir", file + "/data"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("data directory \(file)/data"), "\(run.stderr)")
    }

    @Test func badFlags_exitTwo_andUnreachableAgent_exitsOne() throws {
        #expect(try runChorus(["agent", "--bind", "nowhere"]).status == 2)
        #expect(try runChorus(["agent", "--log-format", "xml"]).status == 2)
        let run = try runChorus(["members", "--api", "127.0.0.1:1"])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("chorus: cannot reach agent at 127.0.0.1:1"), "\(run.stderr)")
        #expect(try runChorus(["--help"]).stdout.contains("members"))
    }
}
