import ChorusBase
import ChorusRuntime
import Testing
@testable import ChorusCLI

/// `chorus dev`: its arguments, the nodes it plans, the agents' command lines and when it
/// calls the cluster ready. (Tests/ChorusProcessTests/DevProcessTests.swift runs it.)
@Suite struct DevCommandTests {
    @Test func defaults_areThreeNodesAtTheDocumentedPorts() throws {
        let plan = try #require(try DevCommand.parse([]))
        #expect(plan == DevCommand.Plan())
        #expect(plan.nodes == 3)
        #expect(plan.portBase == 7946)
        #expect(plan.dataDirectory == nil)
        let nodes = try DevCommand.layout(plan, directory: "/d", isFree: { _, _, _ in true }, pick: { () throws(CommandFailure) in (1, 2, 3) })
        #expect(nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(nodes.map(\.gossip) == ["127.0.0.1:7946", "127.0.0.1:7956", "127.0.0.1:7966"])
        #expect(nodes.map(\.api) == ["127.0.0.1:7947", "127.0.0.1:7957", "127.0.0.1:7967"])
        #expect(nodes.map(\.resp) == ["127.0.0.1:7948", "127.0.0.1:7958", "127.0.0.1:7968"])
        #expect(nodes[1].dataDirectory == "/d/node2")
        #expect(nodes[1].logPath == "/d/node2.log")
    }

    @Test func takenBasePort_movesEveryNodeToPickedPorts() throws {
        let plan = try #require(try DevCommand.parse(["--nodes", "2"]))
        var next: UInt16 = 40000
        let nodes = try DevCommand.layout(plan, directory: "/d", isFree: { g, _, _ in g != 7956 }, pick: { () throws(CommandFailure) in
            next += 3
            return (next, next + 1, next + 2)
        })
        #expect(nodes.map(\.gossipPort) == [40003, 40006])
        #expect(nodes.map(\.apiPort) == [40004, 40007])
        #expect(nodes.map(\.respPort) == [40005, 40008])
        let zero = try #require(try DevCommand.parse(["--port-base", "0", "--nodes", "1"]))
        let picked = try DevCommand.layout(zero, directory: "/d", isFree: { _, _, _ in true }, pick: { () throws(CommandFailure) in (5000, 5001, 5002) })
        #expect(picked.map(\.gossipPort) == [5000])
    }

    @Test func arguments_readNodesDataDirTimeoutAndAgentFlags() throws {
        let plan = try #require(try DevCommand.parse(["--nodes", "5", "--data-dir", "/var/tmp/c", "--timeout", "2m", "--", "--shards", "16"]))
        #expect(plan.nodes == 5)
        #expect(plan.dataDirectory == "/var/tmp/c")
        #expect(plan.timeout == .seconds(120))
        #expect(plan.agentFlags == ["--shards", "16"])
        #expect(try DevCommand.parse(["--help"]) == nil)
    }

    @Test(arguments: [["--nodes", "0"], ["--nodes", "33"], ["--port-base", "80"], ["--port-base", "65530"], ["--timeout", "soon"],
                      ["extra"], ["--", "--name", "x"], ["--", "--api=127.0.0.1:1"], ["--", "--seed", "a:1"]])
    func badArguments_areUsageErrors(args: [String]) {
        #expect(throws: UsageError.self) { try DevCommand.parse(args) }
    }

    @Test func agentCommandLine_seedsAtNode1_andLeavesWithoutDrainingUnlessTold() throws {
        let nodes = try DevCommand.layout(DevCommand.Plan(nodes: 2), directory: "/d", isFree: { _, _, _ in true },
                                          pick: { () throws(CommandFailure) in (1, 2, 3) })
        let first = DevCommand.agentArguments(nodes[0], seed: nil, flags: [], environment: [:])
        #expect(first == ["agent", "--name", "node1", "--bind", "127.0.0.1:7946", "--api", "127.0.0.1:7947", "--resp", "127.0.0.1:7948",
                          "--data-dir", "/d/node1", "--drain-timeout", "0"])
        let second = DevCommand.agentArguments(nodes[1], seed: nodes[0], flags: ["--shards", "8"], environment: [:])
        #expect(second.suffix(5) == ["127.0.0.1:7946", "--drain-timeout", "0", "--shards", "8"])
        #expect(!DevCommand.agentArguments(nodes[1], seed: nil, flags: ["--drain-timeout=5000"], environment: [:]).contains("0"))
        #expect(!DevCommand.agentArguments(nodes[1], seed: nil, flags: [], environment: ["CHORUS_DRAIN_TIMEOUT": "9"]).contains("--drain-timeout"))
        // Every agent flag dev sets itself is also withheld from the environment.
        for flag in ["--name", "--bind", "--api", "--data-dir", "--seed", "--resp"] {
            #expect(DevCommand.withheldVariables.contains(CommandSpec.Option.environmentName(of: flag)), "\(flag)")
        }
    }

    func member(_ name: String, _ status: String) -> MemberView {
        MemberView(name: name, address: "127.0.0.1:1", status: status, incarnation: 0, tags: [:], phi: 0,
                   lastChange: "", secondsSinceChange: 0, local: false)
    }

    func shard(_ id: Int, leader: String?, replicas: [String], learners: [String] = []) -> ShardView {
        ShardView(shard: id, replicas: replicas, learners: learners, leader: leader, term: 1, commitIndex: 1, appliedIndex: 1, reportedBy: nil)
    }

    @Test func readiness_needsEveryMemberAlive() {
        let names = ["node1", "node2", "node3"]
        #expect(DevReadiness.membersVerdict(names.map { member($0, "alive") }, expected: names, observer: "node1") == nil)
        let verdict = DevReadiness.membersVerdict([member("node1", "alive"), member("node2", "suspect")], expected: names, observer: "node1")
        #expect(verdict == .waiting("node1 does not see node2, node3 alive yet"))
    }

    @Test func readiness_needsEveryShardLedWithItsReplicas() {
        let all = ["node1", "node2", "node3"]
        #expect(DevReadiness.shardsVerdict([shard(0, leader: "node1", replicas: all), shard(1, leader: "node2", replicas: all)], replicas: 3)
                == .ready(shards: 2))
        #expect(DevReadiness.shardsVerdict([shard(0, leader: nil, replicas: all)], replicas: 3) == .waiting("1 of 1 shards have no leader yet"))
        #expect(DevReadiness.shardsVerdict([shard(0, leader: "node1", replicas: ["node1"])], replicas: 3)
                == .waiting("1 of 1 shards do not have their 3 replicas yet"))
        #expect(DevReadiness.shardsVerdict([shard(0, leader: "node1", replicas: all, learners: ["node4"])], replicas: 3) != .ready(shards: 1))
        #expect(DevReadiness.shardsVerdict([], replicas: 3) == .waiting("no shards yet"))
    }

    @Test func readiness_waitsUntilTheLeadersStayPutForTheSettleTime() {
        var watch = DevReadiness.LeaderWatch()
        let t0 = Instant(nanoseconds: 1_000_000_000)
        let a = [0: "node1", 1: "node2"], b = [0: "node1", 1: "node3"]
        let steps: [([Int: String], Int64, Bool)] = [([:], 0, false), (a, 0, false), (a, 999, false),
                                                     (b, 1_200, false), (b, 2_000, false), (b, 2_200, true)]
        for (leaders, ms, expected) in steps {
            let settled = watch.settled(leaders, at: t0 + .milliseconds(ms))
            #expect(settled == expected, "at \(ms) ms (a move starts the wait again)")
        }
    }

    @Test func readyText_namesEveryNodeAndWhatToTry() throws {
        let nodes = try DevCommand.layout(DevCommand.Plan(), directory: "/d", isFree: { _, _, _ in true }, pick: { () throws(CommandFailure) in (1, 2, 3) })
        let running = nodes.enumerated().map { DevCluster.Running(node: $1, pid: Int32(100 + $0)) }
        let text = DevCommand.readyText(running, shards: 64, elapsed: .milliseconds(2500), directory: "/d", kept: false)
        #expect(text.hasPrefix("chorus dev: 3 nodes ready in 2.5s, 64 shards led; data and logs in /d (removed at exit)\n"))
        for n in nodes { #expect(text.contains(n.api) && text.contains(n.gossip) && text.contains(n.resp) && text.contains(n.logPath)) }
        #expect(text.contains("redis-cli -p 7948 get greeting"))
        #expect(text.contains("export CHORUS_API=127.0.0.1:7947"))
        #expect(text.contains("kill -9 102"))
        #expect(text.contains("Ctrl-C stops every node."))
    }
}
