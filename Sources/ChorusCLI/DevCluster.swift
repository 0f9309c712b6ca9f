import Foundation
import Glibc
import ChorusBase
import ChorusRuntime

/// The agents `chorus dev` runs: starts them, waits until they are ready, watches them and
/// stops them. Used from the main thread only.
///
/// Invariant: every started child is in `running` until it has been reaped; `stop` returns
/// only when `running` is empty.
final class DevCluster {
    struct Running {
        var node: DevCommand.Node
        var pid: pid_t
    }

    /// How waiting for the cluster ended.
    enum Readiness {
        /// Ready, with the number of shards (each led, each with its replicas).
        case ready(shards: Int)
        case interrupted(Int32)
        case failed(String)
    }

    /// A graceful leave of a node with no replicas to hand over takes a few seconds (the leave
    /// announcement waits up to 2 s); the drain may take up to its timeout (30 s by default).
    static let stopDeadline: Interval = .seconds(45)

    let nodes: [DevCommand.Node]
    private(set) var running: [Running] = []
    private let bell: Doorbell
    private let signals: Int32

    init(nodes: [DevCommand.Node], bell: Doorbell, signals: Int32) {
        self.nodes = nodes
        self.bell = bell
        self.signals = signals
    }

    /// Starts every node: node1 first, the others with node1 as their seed.
    func start(program: String, environment: [String: String], flags: [String]) throws(CommandFailure) {
        for node in nodes {
            do { try FileManager.default.createDirectory(atPath: node.dataDirectory, withIntermediateDirectories: true) } catch {
                throw CommandFailure("cannot create \(node.dataDirectory): \(error.localizedDescription)")
            }
            let seed = node.name == nodes[0].name ? nil : nodes[0]
            let argv = [program] + DevCommand.agentArguments(node, seed: seed, flags: flags, environment: environment)
            let child = try ChildProcess.spawn(argv, environment: environment, output: node.logPath, ownProcessGroup: true)
            running.append(Running(node: node, pid: child.pid))
        }
    }

    /// Polls the nodes' APIs until the cluster is ready, a signal arrives, a node exits or
    /// `timeout` passes.
    func awaitReady(timeout: Interval) -> Readiness {
        let deadline = MonotonicClock.now() + timeout
        var lastProblem = "no node answered yet"
        var watch = DevReadiness.LeaderWatch()
        while MonotonicClock.now() < deadline {
            if let s = bell.wait(signalPipe: signals, timeout: .milliseconds(200)).first { return .interrupted(s) }
            if let gone = reapExited().first { return .failed("\(gone.name) exited with status \(gone.status); see \(gone.log)") }
            let (verdict, leaders) = DevReadiness.check(running.map(\.node))
            switch verdict {
            case let .ready(shards):
                if watch.settled(leaders, at: MonotonicClock.now()) { return .ready(shards: shards) }
                lastProblem = "shard leaders are still moving to their placements"
            case let .waiting(problem):
                lastProblem = problem
            }
        }
        return .failed("not ready within \(timeout): \(lastProblem)")
    }

    /// Waits until a signal arrives (returned) or every node has exited (nil), reporting each
    /// node that exits on the way.
    func superviseUntilSignal() -> Int32? {
        while !running.isEmpty {
            if let s = bell.wait(signalPipe: signals, timeout: .milliseconds(500)).first { return s }
            for gone in reapExited() {
                report("\(gone.name) exited with status \(gone.status); its log is \(gone.log)")
            }
        }
        return nil
    }

    /// Sends SIGTERM to every node still running and waits for all of them; a second signal,
    /// or `stopDeadline`, sends SIGKILL. Returns 0 when every node stopped by itself with
    /// status 0, else 1.
    @discardableResult
    func stop(reason: String) -> Int32 {
        guard !running.isEmpty else { return 0 }
        report("stopping \(running.count) node\(running.count == 1 ? "" : "s") (\(reason))")
        for r in running { _ = kill(r.pid, SIGTERM) }
        var status: Int32 = 0
        var killed = false
        let deadline = MonotonicClock.now() + DevCluster.stopDeadline
        while !running.isEmpty {
            let arrived = bell.wait(signalPipe: signals, timeout: .milliseconds(100))
            if !killed && (!arrived.isEmpty || MonotonicClock.now() >= deadline) {
                report(arrived.isEmpty ? "nodes still running after \(DevCluster.stopDeadline): killing them" : "second signal: killing the nodes")
                for r in running { _ = kill(r.pid, SIGKILL) }
                killed = true
                status = 1
            }
            for gone in reapExited() {
                report("\(gone.name) stopped" + (gone.status == 0 ? "" : " with status \(gone.status)"))
                if gone.status != 0 { status = 1 }
            }
        }
        return status
    }

    /// The last `lines` lines of every node's log, one string.
    func logTails(lines: Int) -> String {
        nodes.compactMap { node -> String? in
            guard let text = try? String(contentsOfFile: node.logPath, encoding: .utf8) else { return nil }
            let tail = text.split(separator: "\n").suffix(lines)
            return tail.isEmpty ? nil : "\(node.name): " + tail.joined(separator: " | ")
        }.joined(separator: "; ")
    }

    /// Reaps the nodes that have exited and takes them out of `running`.
    private func reapExited() -> [(name: String, status: Int32, log: String)] {
        var gone: [(name: String, status: Int32, log: String)] = []
        running.removeAll { r in
            guard let status = ChildProcess(pid: r.pid).exitStatus() else { return false }
            gone.append((r.node.name, status, r.node.logPath))
            return true
        }
        return gone
    }

    private func report(_ line: String) {
        FileHandle.standardError.write(Data("chorus dev: \(line)\n".utf8))
    }
}
