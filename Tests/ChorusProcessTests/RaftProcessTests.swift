import ChorusBase
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// Three real `chorus raft serve` processes on 127.0.0.1: they elect a leader and commit
/// writes; after `kill -9` of the leader the two survivors elect a new one that commits.
@Suite(.serialized) struct RaftProcessTests {
    @Test func threeNodes_commit_thenSurviveKillOfLeader() throws {
        let binary = try ChorusBinary.url()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-raft-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        var raftPorts: [UInt16] = [], clientPorts: [UInt16] = []
        for _ in 0..<3 { let p = try FreePorts.pair(); raftPorts.append(p.gossip); clientPorts.append(p.api) }
        let peers = (1...3).map { "\($0)=127.0.0.1:\(raftPorts[$0 - 1])" }.joined(separator: ",")
        var processes: [Process] = []
        defer { for p in processes where p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        for i in 1...3 {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["raft", "serve", "--id", "\(i)", "--peers", peers, "--client", "127.0.0.1:\(clientPorts[i - 1])",
                           "--data-dir", dir.appendingPathComponent("n\(i)").path, "--log-level", "warn", "--tick-ms", "20"]
            try p.run()
            processes.append(p)
        }
        let clients = clientPorts.map { Endpoint(ip: .loopbackV4, port: $0) }

        func leader(among indices: [Int]) -> Int? {
            for i in indices {
                if let r = RaftProbe.chorus(clients[i], .init(id: 1, op: .status), timeout: .milliseconds(500)),
                   let s = try? RaftClientProtocol.decodeStatus(r.value), s.isLeader { return i }
            }
            return nil
        }
        func commit(_ key: String, among indices: [Int], timeout: Double) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                for i in indices {
                    let r = RaftProbe.chorus(clients[i], .init(id: 9, op: .put, key: Array(key.utf8), value: Array("v".utf8)),
                                             timeout: .milliseconds(1_000))
                    if r?.status == .ok { return true }
                }
                usleep(20_000)
            }
            return false
        }

        for n in 0..<3 { #expect(commit("before-\(n)", among: [0, 1, 2], timeout: 10), "no commit with three nodes") }
        let first = try #require(leader(among: [0, 1, 2]), "no leader")
        // A read through ReadIndex sees the write.
        let read = RaftProbe.chorus(clients[first], .init(id: 3, op: .get, key: Array("before-2".utf8)), timeout: .seconds(2))
        #expect(read?.status == .ok && read?.value == Array("v".utf8))

        Glibc.kill(processes[first].processIdentifier, SIGKILL)
        processes[first].waitUntilExit()
        let survivors = [0, 1, 2].filter { $0 != first }
        #expect(commit("after-kill", among: survivors, timeout: 10), "survivors did not commit after the leader was killed")
        let second = leader(among: survivors)
        #expect(second != nil && second != first)
    }
}
