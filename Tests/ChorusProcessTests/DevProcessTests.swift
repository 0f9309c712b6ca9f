import ChorusRuntime
import Foundation
import Glibc
import Synchronization
import Testing

/// `chorus dev` as a user runs it: a whole local cluster from one command, stopped by Ctrl-C.
@Suite(.serialized) struct DevProcessTests {
    /// The lines a process writes to a pipe, collected on a thread of their own.
    final class Lines: @unchecked Sendable {
        private let text = Mutex("")
        init(_ pipe: Pipe) {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { return }
                    text.withLock { $0 += String(decoding: data, as: UTF8.self) }
                }
            }
        }
        var all: String { text.withLock { $0 } }
    }

    @Test func devThreeNodes_readyWithMembersAlive_andSIGINTStopsEveryChild() throws {
        let dir = NSTemporaryDirectory() + "chorus-dev-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dev = Process()
        dev.executableURL = try ChorusBinary.url()
        dev.arguments = ["dev", "--nodes", "3", "--port-base", "0", "--data-dir", dir, "--timeout", "30s"]
        let out = Pipe(), err = Pipe()
        dev.standardOutput = out
        dev.standardError = err
        let stdout = Lines(out), stderr = Lines(err)
        try dev.run()
        var pids: [pid_t] = []
        defer {
            // Whatever happened, leave no process behind.
            if dev.isRunning { kill(dev.processIdentifier, SIGKILL) }
            for pid in pids { kill(pid, SIGKILL) }
        }

        let ready = waitUntil(timeout: 30) { stdout.all.contains(" ready in ") || !dev.isRunning }
        #expect(ready && dev.isRunning, "no ready line; stdout:\n\(stdout.all)\nstderr:\n\(stderr.all)")
        guard ready && dev.isRunning else { return }
        // Wait for the whole table, not just its first line.
        #expect(waitUntil(timeout: 5) { stdout.all.contains("Ctrl-C stops every node.") })

        // The table: NAME PID GOSSIP API LOG, one row per node.
        let rows = stdout.all.split(separator: "\n").filter { $0.hasPrefix("node") }.map { $0.split(separator: " ") }
        #expect(rows.map { String($0[0]) } == ["node1", "node2", "node3"])
        pids = rows.compactMap { pid_t(String($0[1])) }
        #expect(pids.count == 3)
        let api = String(rows[1][3])
        let members = try HTTPClient().request(api, path: "/v1/members", timeout: .seconds(5)).decodeJSON([MemberView].self)
        #expect(members.map(\.name).sorted() == ["node1", "node2", "node3"])
        #expect(members.allSatisfy { $0.status == "alive" })
        for pid in pids { #expect(kill(pid, 0) == 0, "node pid \(pid) not running") }

        kill(dev.processIdentifier, SIGINT)
        let stopped = waitUntil(timeout: 20) { !dev.isRunning }
        #expect(stopped, "chorus dev still running 20 s after SIGINT; stderr:\n\(stderr.all)")
        guard stopped else { return }
        dev.waitUntilExit()
        #expect(dev.terminationStatus == 0, "stderr:\n\(stderr.all)")
        // Reaped by chorus dev, so not even a zombie is left.
        for pid in pids { #expect(kill(pid, 0) == -1 && errno == ESRCH, "node pid \(pid) still exists") }
        #expect(stderr.all.contains("stopping 3 nodes (SIGINT received)"))
        #expect(FileManager.default.fileExists(atPath: dir + "/node1.log"), "a given data directory is kept")
    }
}
