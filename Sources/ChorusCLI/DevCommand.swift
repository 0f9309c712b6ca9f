import Foundation
import Glibc
import ChorusBase
import ChorusRuntime

/// `chorus dev`: a whole local cluster in one command. Starts N agents (child processes of
/// this binary) on loopback ports, waits until every member is alive everywhere and every
/// shard has its replicas and a leader, prints how to reach each node, and on SIGINT, SIGTERM
/// or SIGHUP stops every node gracefully and waits for all of them.
///
/// Invariant: this process does not exit before every agent it started has exited and been
/// reaped (a second signal, or a node still running after the stop deadline, is killed with
/// SIGKILL first); a data directory it created itself is removed at exit, one it was given is
/// kept.
enum DevCommand {
    static let spec = CommandSpec(
        name: "dev",
        summary: "Run a local cluster of N agents on loopback ports until Ctrl-C.",
        usage: "chorus dev [--nodes N] [--data-dir DIR] [--port-base PORT] [--timeout DUR] [-- AGENT FLAGS...]",
        options: [
            .init("--nodes", value: "N", help: "Agents to start (1-\(maxNodes)).", default: "3"),
            .init("--data-dir", value: "DIR", help: "Keep each node's data and log in DIR/nodeI (kept at exit).",
                  default: "a temporary directory, removed at exit"),
            .init("--port-base", value: "PORT", help: "Node i gossips on PORT+10(i-1), serves its API one above and RESP two above; if one is taken, or PORT is 0, every node gets ports the kernel picks.",
                  default: "7946"),
            .init("--timeout", value: "DUR", help: "Give up (stop the nodes, exit 1) if the cluster is not ready within DUR.", default: "60s"),
        ],
        details: """
        Each node is 'chorus agent --name nodeI --bind 127.0.0.1:G --api 127.0.0.1:A --data-dir DIR/nodeI',
        the second and later with --seed at node1; flags after -- are given to every agent
        (chorus dev -- --shards 16), and CHORUS_ variables reach them too (CHORUS_LOG_LEVEL=debug).
        Ready means: every node lists every node alive, and every shard has a leader and its
        replicas. Each node's log is DIR/nodeI.log.
        Ctrl-C (SIGINT), SIGTERM or SIGHUP sends SIGTERM to every node: each leaves the cluster
        and exits (without handing its replicas over, unless --drain-timeout is among the agent
        flags or CHORUS_DRAIN_TIMEOUT is set). A second signal kills them at once. The nodes run in process groups of their
        own, so Ctrl-C reaches them only through chorus dev.
        """)

    static let maxNodes = 32

    /// What to start, from the command line.
    struct Plan: Equatable {
        var nodes = 3
        /// Nil: a temporary directory, removed at exit.
        var dataDirectory: String?
        /// 0: ports the kernel picks.
        var portBase: UInt16 = 7946
        var timeout: Interval = .seconds(60)
        /// Flags given to every agent.
        var agentFlags: [String] = []
    }

    /// One node of the cluster: its name, ports and files.
    struct Node: Equatable {
        var name: String
        var gossipPort: UInt16
        var apiPort: UInt16
        /// The cache's Redis-protocol listener (`--resp`).
        var respPort: UInt16
        var dataDirectory: String
        var logPath: String

        var gossip: String { "127.0.0.1:\(gossipPort)" }
        var api: String { "127.0.0.1:\(apiPort)" }
        var resp: String { "127.0.0.1:\(respPort)" }
    }

    /// Variables the dev command sets by flag, or that would give node1 a seed or every node
    /// one address: kept from the agents so that they cannot collide.
    static let withheldVariables = ["CHORUS_NAME", "CHORUS_BIND", "CHORUS_ADVERTISE", "CHORUS_API", "CHORUS_SEED", "CHORUS_DATA_DIR",
                                    "CHORUS_RESP"]

    /// Parses the arguments; nil for help. Everything after `--` is for the agents.
    static func parse(_ args: [String]) throws(UsageError) -> Plan? {
        var own = args
        var plan = Plan()
        if let i = args.firstIndex(of: "--") {
            own = Array(args[..<i])
            plan.agentFlags = Array(args[(i + 1)...])
        }
        let p = try spec.parse(own)
        if p.wantsHelp { return nil }
        guard p.positionals.isEmpty else { throw UsageError("chorus dev takes no arguments, got \"\(p.positionals[0])\" (agent flags go after --)") }
        if let n = try p.int("--nodes") {
            guard (1...maxNodes).contains(n) else { throw UsageError("--nodes must be 1-\(maxNodes), got \(n)") }
            plan.nodes = n
        }
        plan.dataDirectory = p.string("--data-dir")
        if let base = try p.int("--port-base") {
            guard base == 0 || (1024...(65535 - 10 * plan.nodes)).contains(base) else {
                throw UsageError("--port-base must be 0 or 1024-\(65535 - 10 * plan.nodes) for \(plan.nodes) nodes, got \(base)")
            }
            plan.portBase = UInt16(base)
        }
        if let text = p.string("--timeout") {
            guard let d = Interval(parsing: text), d > .zero else { throw UsageError("--timeout expects a duration such as 30s or 2m, got \"\(text)\"") }
            plan.timeout = d
        }
        let owned = ["--name", "--bind", "--api", "--data-dir", "--seed", "--advertise", "--resp"]
        if let clash = plan.agentFlags.first(where: { flag in owned.contains { flag == $0 || flag.hasPrefix($0 + "=") } }) {
            throw UsageError("chorus dev sets \(clash.split(separator: "=")[0]) of every agent itself; pass it to chorus agent instead")
        }
        return plan
    }

    /// The nodes of `plan` under `directory`: at the base ports when all are free (`isFree`
    /// says), otherwise every node at ports `pick` hands out.
    static func layout(_ plan: Plan, directory: String, isFree: (_ gossip: UInt16, _ api: UInt16, _ resp: UInt16) -> Bool,
                       pick: () throws(CommandFailure) -> (UInt16, UInt16, UInt16)) throws(CommandFailure) -> [Node] {
        let base = Int(plan.portBase)
        let fixed = (0..<plan.nodes).map { (UInt16(base + 10 * $0), UInt16(base + 10 * $0 + 1), UInt16(base + 10 * $0 + 2)) }
        var ports = fixed
        if base == 0 || !fixed.allSatisfy({ isFree($0.0, $0.1, $0.2) }) {
            ports = []
            for _ in 0..<plan.nodes { ports.append(try pick()) }
        }
        return ports.enumerated().map { i, p in
            let name = "node\(i + 1)"
            return Node(name: name, gossipPort: p.0, apiPort: p.1, respPort: p.2, dataDirectory: directory + "/" + name,
                        logPath: directory + "/" + name + ".log")
        }
    }

    /// The command line of one agent (after the program name). Unless the flags or the
    /// environment set a drain timeout, the agents leave without handing their replicas over:
    /// when the whole cluster stops there is nowhere to hand them, and waiting for the default
    /// 30 s would only delay Ctrl-C.
    static func agentArguments(_ node: Node, seed: Node?, flags: [String], environment: [String: String]) -> [String] {
        let drainSet = flags.contains { $0 == "--drain-timeout" || $0.hasPrefix("--drain-timeout=") }
            || !(environment["CHORUS_DRAIN_TIMEOUT"] ?? "").isEmpty
        return ["agent", "--name", node.name, "--bind", node.gossip, "--api", node.api, "--resp", node.resp, "--data-dir", node.dataDirectory]
            + (seed.map { ["--seed", $0.gossip] } ?? []) + (drainSet ? [] : ["--drain-timeout", "0"]) + flags
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let plan = try parse(args) else { print(spec.helpText); return 0 }
        // Before any child starts, so that a Ctrl-C from now on is ours to pass on.
        let signals: SignalPipe
        do { signals = try SignalPipe.install(signals: [SIGINT, SIGTERM, SIGHUP]) } catch {
            throw CommandFailure("cannot install signal handlers: \(error)")
        }
        let (directory, temporary) = try dataDirectory(plan)
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        let nodes = try layout(plan, directory: directory, isFree: { LoopbackPorts.gossipFree($0) && LoopbackPorts.apiFree($1) && LoopbackPorts.apiFree($2) },
                               pick: pickPorts())
        var environment = ProcessInfo.processInfo.environment
        for v in withheldVariables { environment[v] = nil }
        let cluster = DevCluster(nodes: nodes, bell: try Doorbell(), signals: signals.readEnd)
        let started = MonotonicClock.now()
        do {
            try cluster.start(program: try programPath(), environment: environment, flags: plan.agentFlags)
        } catch {
            cluster.stop(reason: "a node could not start")
            throw error
        }
        switch cluster.awaitReady(timeout: plan.timeout) {
        case let .ready(shards):
            let elapsed = MonotonicClock.now() - started
            // Unbuffered: a script reading through a pipe sees the ready line now.
            let text = readyText(cluster.running, shards: shards, elapsed: elapsed, directory: directory, kept: !temporary)
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        case let .interrupted(signal):
            cluster.stop(reason: "\(Doorbell.name(of: signal)) while starting")
            throw CommandFailure("interrupted by \(Doorbell.name(of: signal)) before the cluster was ready")
        case let .failed(reason):
            let tails = cluster.logTails(lines: 5)
            cluster.stop(reason: reason)
            throw CommandFailure("the cluster did not get ready: \(reason)" + (tails.isEmpty ? "" : "; last log lines: " + tails))
        }
        let signal = cluster.superviseUntilSignal()
        return cluster.stop(reason: signal.map { "\(Doorbell.name(of: $0)) received" } ?? "every node has exited")
    }

    /// The data directory, and whether it is a temporary one to remove at exit.
    static func dataDirectory(_ plan: Plan) throws(CommandFailure) -> (String, Bool) {
        if let dir = plan.dataDirectory {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw CommandFailure("cannot create the data directory \(dir): \(error.localizedDescription)")
            }
            return (dir, false)
        }
        var template = Array(((NSTemporaryDirectory() as NSString).appendingPathComponent("chorus-dev-XXXXXX")).utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CommandFailure("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        return (String(cString: made), true)
    }

    /// Hands out ephemeral ports (gossip, API, RESP), never the same port twice.
    static func pickPorts() -> () throws(CommandFailure) -> (UInt16, UInt16, UInt16) {
        var taken: Set<UInt16> = []
        return { () throws(CommandFailure) -> (UInt16, UInt16, UInt16) in
            guard let g = LoopbackPorts.ephemeralGossip(avoiding: taken) else { throw CommandFailure("no free loopback port for gossip") }
            taken.insert(g)
            guard let a = LoopbackPorts.ephemeralAPI(avoiding: taken) else { throw CommandFailure("no free loopback port for an API") }
            taken.insert(a)
            guard let r = LoopbackPorts.ephemeralAPI(avoiding: taken) else { throw CommandFailure("no free loopback port for RESP") }
            taken.insert(r)
            return (g, a, r)
        }
    }

    /// This program's own executable, which the agents run.
    static func programPath() throws(CommandFailure) -> String {
        let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw CommandFailure("cannot find this program's executable (/proc/self/exe)") }
        return path
    }

    /// What the user sees once the cluster is ready: one line saying so (the line scripts wait
    /// for contains " ready in "), the nodes, and commands to try.
    static func readyText(_ nodes: [DevCluster.Running], shards: Int, elapsed: Interval, directory: String, kept: Bool) -> String {
        let seconds = String(format: "%.1f", Double(elapsed.nanoseconds) / 1e9)
        var s = "chorus dev: \(nodes.count) node\(nodes.count == 1 ? "" : "s") ready in \(seconds)s, \(shards) shards led; "
            + "data and logs in \(directory)\(kept ? "" : " (removed at exit)")\n\n"
        var t = TextTable(["NAME", "PID", "GOSSIP", "API", "RESP", "LOG"])
        for n in nodes { t.append([n.node.name, String(n.pid), n.node.gossip, n.node.api, n.node.resp, n.node.logPath]) }
        s += t.text + "\n\n"
        let first = nodes[0].node.api
        let last = nodes[nodes.count - 1]
        s += """
        Try, in another terminal:
          export CHORUS_API=\(first)
          chorus members                      # every node, alive
          chorus shards                       # each shard's leader and replicas
          chorus lock acquire demo -- sh -c 'echo "holding demo, token $CHORUS_LOCK_TOKEN"; sleep 5'
          curl -s -X PUT \(first)/v1/kv/greeting -d hello; curl -s \(last.node.api)/v1/kv/greeting
          chorus queue create jobs; chorus queue push jobs hello; chorus queue pull jobs
          chorus cache put greeting hi; redis-cli -p \(nodes[0].node.respPort) get greeting
          curl -s \(first)/metrics | grep '^chorus_raft_leaders'
          kill -9 \(last.pid)                       # \(last.node.name) crashes: the others mark it dead in seconds

        Ctrl-C stops every node.
        """
        return s
    }
}
