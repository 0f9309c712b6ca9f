import ChorusRuntime
import Foundation
import Glibc

/// Five (or `lab.nodeCount`) `chorus agent` processes, agent i running in the lab's namespace i
/// (`ip netns exec` execs the agent, so the process id is the agent's), bound to its veth
/// address only, with a data directory that survives `kill -9` for the restart.
///
/// Invariant: every process it started is killed and reaped by `shutdown()`; the API is only
/// ever reached from a thread inside the node's own namespace.
final class ChaosCluster: @unchecked Sendable {
    static let gossipPort = 7946
    static let apiPort = 7947

    let lab: NetworkLab
    let workDirectory: String
    let shards: Int
    private let lock = NSLock()
    private var processes: [Int: Process] = [:]
    private var starts: [Int: Int] = [:]

    var nodes: [Int] { Array(1...lab.nodeCount) }
    func name(_ node: Int) -> String { "n\(node)" }
    func node(named name: String) -> Int? { nodes.first { self.name($0) == name } }
    func api(_ node: Int) -> String { "\(lab.address(node)):\(Self.apiPort)" }
    func gossip(_ node: Int) -> String { "\(lab.address(node)):\(Self.gossipPort)" }

    init(lab: NetworkLab, workDirectory: String, shards: Int) {
        self.lab = lab
        self.workDirectory = workDirectory
        self.shards = shards
    }

    /// Starts (or restarts, from the same data directory) the agent of `node`.
    func start(_ node: Int) throws {
        let count = lock.withLock { () -> Int in
            starts[node, default: 0] += 1
            return starts[node] ?? 1
        }
        let logPath = workDirectory + "/\(name(node))-\(count).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: NetworkLab.ipPath)
        let seeds = nodes.filter { $0 != node }.flatMap { ["--seed", gossip($0)] }
        p.arguments = ["netns", "exec", lab.namespace(node), try ChorusBinary.url().path, "agent",
                       "--name", name(node), "--bind", gossip(node), "--api", api(node),
                       "--data-dir", workDirectory + "/" + name(node), "--bootstrap-expect", "\(lab.nodeCount)",
                       "--shards", "\(shards)", "--replicas", "3", "--drain-timeout", "0"] + seeds
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: logPath)
        try p.run()
        lock.withLock { processes[node] = p }
    }

    func isRunning(_ node: Int) -> Bool { lock.withLock { processes[node]?.isRunning ?? false } }
    var running: [Int] { nodes.filter(isRunning) }

    /// `kill -9` and reap.
    func kill(_ node: Int) {
        guard let p = lock.withLock({ processes[node] }) else { return }
        if p.isRunning { _ = Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    func shutdown() {
        for node in nodes { kill(node) }
    }

    /// One request to `node`'s agent, sent from inside its namespace; nil when it does not answer.
    func request(_ node: Int, _ method: HTTPMethod = .get, _ path: String, body: String? = nil,
                 timeout: Double = 3) -> HTTPClientResponse? {
        let api = api(node)
        return (try? NamespaceThread.run(in: lab.namespace(node)) {
            try? HTTPClient().request(method: method, api, path: path, body: body.map { Array($0.utf8) },
                                      timeout: .milliseconds(Int64(timeout * 1000)))
        }) ?? nil
    }

    func members(seenBy node: Int) -> [MemberView]? {
        guard let r = request(node, .get, "/v1/members"), r.status == 200 else { return nil }
        return try? r.decodeJSON([MemberView].self)
    }

    func shardViews(seenBy node: Int) -> [ShardView]? {
        guard let r = request(node, .get, "/v1/shards", timeout: 5), r.status == 200 else { return nil }
        return try? r.decodeJSON([ShardView].self)
    }

    /// True when every running agent lists all `nodes`, each alive.
    func membershipHealed() -> Bool {
        let all = nodes.map(name).sorted()
        return running.count == nodes.count && running.allSatisfy { n in
            guard let members = members(seenBy: n) else { return false }
            return members.map(\.name).sorted() == all && members.allSatisfy { $0.status == "alive" }
        }
    }

    /// True when `node` reports every shard with a leader and three voters.
    func shardsLed(seenBy node: Int) -> Bool {
        guard let views = shardViews(seenBy: node) else { return false }
        return views.count == shards && views.allSatisfy { $0.leader != nil && $0.replicas.count == 3 }
    }

    /// The node leading the most shards, as `node` sees it.
    func busiestLeader(seenBy node: Int) -> Int? {
        guard let views = shardViews(seenBy: node) else { return nil }
        var counts: [String: Int] = [:]
        for v in views { if let l = v.leader { counts[l, default: 0] += 1 } }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.flatMap { self.node(named: $0.key) }
    }

    /// The last lines of every agent's logs, for failure messages.
    var logs: String {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: workDirectory)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        return files.map { f in
            let text = (try? String(contentsOfFile: workDirectory + "/" + f, encoding: .utf8)) ?? ""
            return "--- \(f)\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
