import ChorusBase
import ChorusRuntime
import Foundation
import Glibc
import Synchronization

/// One `chorus agent` process on 127.0.0.1 with its own ports, data directory and log file.
/// The owner must call `kill()` (or let the process exit) before the test ends; `Cluster`
/// does that for every node it started.
final class AgentProcess: @unchecked Sendable {
    let name: String
    let gossipPort: UInt16
    let apiPort: UInt16
    let dataDirectory: String
    let logPath: String
    let process = Process()

    var gossip: String { "127.0.0.1:\(gossipPort)" }
    var api: String { "127.0.0.1:\(apiPort)" }

    init(name: String, gossipPort: UInt16, apiPort: UInt16, seeds: [String], workDirectory: String,
         extra: [String] = []) throws {
        self.name = name
        self.gossipPort = gossipPort
        self.apiPort = apiPort
        self.dataDirectory = workDirectory + "/" + name
        self.logPath = workDirectory + "/\(name)-\(UInt32.random(in: 0 ... .max)).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = try ChorusBinary.url()
        process.arguments = ["agent", "--name", name, "--bind", "127.0.0.1:\(gossipPort)", "--api", "127.0.0.1:\(apiPort)",
                             "--data-dir", dataDirectory] + seeds.flatMap { ["--seed", $0] } + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// The members this agent lists, or nil when its API does not answer.
    func members() -> [MemberView]? {
        guard let r = try? HTTPClient().request(api, path: "/v1/members", timeout: .seconds(2)), r.status == 200 else { return nil }
        return try? r.decodeJSON([MemberView].self)
    }

    func status(of member: String) -> String? { members()?.first { $0.name == member }?.status }

    func signal(_ signal: Int32) { if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) } }

    /// SIGKILL and reap; safe to call more than once.
    func kill() {
        signal(SIGKILL)
        _ = waitForExit(timeout: 5)
    }

    /// The exit status, or nil if the process is still running after `timeout` seconds.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// Agents started by one test, all killed by `shutdown()`.
final class Cluster: @unchecked Sendable {
    let workDirectory: String
    private(set) var nodes: [AgentProcess] = []

    init() {
        workDirectory = NSTemporaryDirectory() + "chorus-process-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
    }

    /// Starts an agent on fresh free ports (or the given ones, for a restart).
    @discardableResult
    func start(_ name: String, seeds: [String] = [], ports: (UInt16, UInt16)? = nil, extra: [String] = []) throws -> AgentProcess {
        let (gossip, api) = try ports ?? FreePorts.pair()
        let node = try AgentProcess(name: name, gossipPort: gossip, apiPort: api, seeds: seeds, workDirectory: workDirectory, extra: extra)
        nodes.append(node)
        return node
    }

    func shutdown() {
        for node in nodes { node.kill() }
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    /// True when every node in `observers` lists `member` with `status`.
    func all(_ observers: [AgentProcess], see member: String, as status: String) -> Bool {
        observers.allSatisfy { $0.status(of: member) == status }
    }

    /// True when every node in `observers` lists exactly `names`, all alive.
    func all(_ observers: [AgentProcess], listAlive names: [String]) -> Bool {
        observers.allSatisfy { node in
            guard let members = node.members() else { return false }
            return members.map(\.name).sorted() == names.sorted() && members.allSatisfy { $0.status == "alive" }
        }
    }

    /// The logs of every node, for failure messages.
    var logs: String {
        nodes.map { "--- \($0.name) (\($0.gossip))\n\($0.log.split(separator: "\n").suffix(30).joined(separator: "\n"))" }
            .joined(separator: "\n")
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Runs the `chorus` binary with `arguments`; returns its exit status and standard error.
func runChorus(_ arguments: [String], timeout: Double = 15) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = try ChorusBinary.url()
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning { _ = Glibc.kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
    let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (p.terminationStatus, o, e)
}
