import ChorusRuntime
import Foundation
import Glibc
import Testing

/// Real `chorus agent` processes on 127.0.0.1 with the default protocol settings. Serialized:
/// each test runs a whole cluster, and failure detection must not compete with another one
/// for the CPU.
@Suite(.serialized) struct ClusterProcessTests {

    /// Starts `count` nodes named `prefix1...`, all seeded with the first, and waits until
    /// every one lists all of them alive.
    func converged(_ cluster: Cluster, _ count: Int, prefix: String = "n") throws -> [AgentProcess] {
        let first = try cluster.start("\(prefix)1")
        var nodes = [first]
        for i in 2...count { nodes.append(try cluster.start("\(prefix)\(i)", seeds: [first.gossip])) }
        let names = nodes.map(\.name)
        #expect(waitUntil(timeout: 15) { cluster.all(nodes, listAlive: names) }, "did not converge:\n\(cluster.logs)")
        return nodes
    }

    @Test func fiveNodes_convergeFromOneSeed() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try converged(cluster, 5)

        // The CLI sees the same view.
        let run = try runChorus(["members", "--json", "--api", nodes[4].api])
        #expect(run.status == 0, "\(run.stderr)")
        let listed = try JSONDecoder().decode([MemberView].self, from: Data(run.stdout.utf8))
        #expect(listed.map(\.name) == ["n1", "n2", "n3", "n4", "n5"])
        #expect(listed.allSatisfy { $0.status == "alive" })
        let table = try runChorus(["members", "--api", nodes[0].api])
        #expect(table.stdout.hasPrefix("NAME"))
        #expect(table.stdout.split(separator: "\n").count == 6)
    }

    @Test func killNine_isMarkedDeadByAllOthers() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try converged(cluster, 5)
        nodes[2].signal(SIGKILL)
        let survivors = nodes.filter { $0 !== nodes[2] }
        #expect(waitUntil(timeout: 25) { cluster.all(survivors, see: "n3", as: "dead") }, "n3 not dead everywhere:\n\(cluster.logs)")
        // No false positive among the survivors.
        #expect(survivors.allSatisfy { node in survivors.allSatisfy { node.status(of: $0.name) == "alive" } })
    }

    @Test func sigterm_isShownLeftByAllOthers_andExitsZero() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try converged(cluster, 5)
        nodes[1].signal(SIGTERM)
        #expect(nodes[1].waitForExit(timeout: 10) == 0, "\(nodes[1].log)")
        #expect(nodes[1].log.contains("left the cluster"))
        let others = nodes.filter { $0 !== nodes[1] }
        #expect(waitUntil(timeout: 10) { cluster.all(others, see: "n2", as: "left") }, "n2 not left everywhere:\n\(cluster.logs)")
    }

    @Test func killedNode_restartedWithTheSameName_isAliveEverywhere() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try converged(cluster, 4)
        let victim = nodes[3]
        victim.signal(SIGKILL)
        let others = Array(nodes.prefix(3))
        #expect(waitUntil(timeout: 25) { cluster.all(others, see: "n4", as: "dead") }, "n4 not dead everywhere:\n\(cluster.logs)")

        let reborn = try cluster.start("n4", seeds: [nodes[0].gossip], ports: (victim.gossipPort, victim.apiPort))
        let everyone = others + [reborn]
        #expect(waitUntil(timeout: 15) { cluster.all(everyone, listAlive: ["n1", "n2", "n3", "n4"]) },
                "n4 not alive again everywhere:\n\(cluster.logs)")
        // The restart started above its previous life's incarnation (kept in its data dir).
        #expect((others[0].members()?.first { $0.name == "n4" }?.incarnation ?? 0) >= 1)
    }

    @Test func twoClusters_mergedWithChorusJoin_formOneView() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let a = try converged(cluster, 3, prefix: "a")
        let b = try converged(cluster, 2, prefix: "b")
        #expect(a.allSatisfy { $0.members()?.count == 3 })

        let run = try runChorus(["join", a[0].gossip, "--api", b[0].api])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("joined through"))
        let all = a + b
        #expect(waitUntil(timeout: 15) { cluster.all(all, listAlive: ["a1", "a2", "a3", "b1", "b2"]) },
                "clusters did not merge:\n\(cluster.logs)")
    }
}
