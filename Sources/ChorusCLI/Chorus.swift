import Foundation

/// The `chorus` program: dispatches to a subcommand and turns errors into one-line messages
/// on standard error, each ending with a newline, and exit codes (2 for usage errors, 1 for
/// failures).
public enum Chorus {
    static let commands: [(String, String)] = [
        ("dev", "Run a local cluster of N agents (default 3) until Ctrl-C."),
        ("agent", "Run a node."),
        ("members", "List the members an agent sees."),
        ("join", "Ask an agent to join other nodes."),
        ("leave", "Ask an agent to leave the cluster gracefully and exit."),
        ("info", "Show an agent's settings and state."),
        ("health", "Check an agent's health (exit 0 when healthy)."),
        ("tags", "Set or delete an agent's tags."),
        ("keys", "List or rotate an agent's encryption keys; generate a key."),
        ("ring", "Show the ring an agent computes: shares and shards per member."),
        ("shards", "Show every shard: replicas, leader, term, commit and applied index."),
        ("lock", "Acquire a lock (hold it, or run a command under it), show a lock, list locks."),
        ("sim", "Simulate a cluster (virtual time, simulated network)."),
        ("queue", "Distributed queue: create, push, pull (--exec a command per message), ack, nack, stats, dlq, redrive."),
        ("cache", "Coherent cache: get, put, del a key; stats of an agent's cache."),
        ("raft", "Run a Raft group member with a key-value state machine (raft serve)."),
        ("bench", "Run a benchmark (ring: placement; raft: committed writes/s, latency, failover; lock: lock pairs/s; queue; cache: hit rate, ops/s)."),
        ("snapshot", "Back up a stopped node's data directory into one archive, or restore one (save, restore)."),
        ("completion", "Print a shell completion script (bash or zsh)."),
    ]

    /// The grammar of every command and subcommand, for help and shell completion. A spec
    /// named "lock acquire" is the subcommand `acquire` of `lock`.
    static let specs: [CommandSpec] = [
        DevCommand.spec, AgentCommand.spec, MembersCommand.spec, JoinCommand.spec, LeaveCommand.spec, InfoCommand.spec,
        HealthCommand.spec, TagsCommand.spec, KeysCommand.spec, RingCommand.spec, ShardsCommand.spec, LockAcquireCommand.spec, LockReleaseCommand.spec,
        LockCommand.statusSpec, LockCommand.listSpec, SimCommand.spec, RaftCommand.spec, RingBenchCommand.spec,
        RaftBenchCommand.spec, LockBenchCommand.spec, SnapshotCommand.saveSpec, SnapshotCommand.restoreSpec, CompletionCommand.spec,
    ] + QueueCommand.specs + [QueueBenchCommand.spec] + CacheCommand.specs + [CacheBenchCommand.spec]

    static var usage: String {
        var s = "chorus — peer-to-peer coordination overlay\n\nUsage: chorus COMMAND [options]\n\nCommands:\n"
        for (name, help) in commands { s += "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + help + "\n" }
        s += "\nClient commands reach an agent with --api HOST:PORT (default 127.0.0.1:7947, or CHORUS_API)."
        s += "\nRun 'chorus COMMAND --help' for a command's options."
        return s
    }

    public static func main(_ argv: [String]) -> Int32 {
        run(argv) { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Runs the command line `argv`, giving every error line to `report`.
    static func run(_ argv: [String], report: (String) -> Void) -> Int32 {
        let args = Array(argv.dropFirst())
        guard let command = args.first else { report(usage + "\n"); return 2 }
        let rest = Array(args.dropFirst())
        do {
            switch command {
            case "--help", "-h", "help": print(usage); return 0
            case "dev": return try DevCommand.run(rest)
            case "agent": return try AgentCommand.run(rest)
            case "members": return try MembersCommand.run(rest)
            case "join": return try JoinCommand.run(rest)
            case "leave": return try LeaveCommand.run(rest)
            case "info": return try InfoCommand.run(rest)
            case "health": return try HealthCommand.run(rest)
            case "tags": return try TagsCommand.run(rest)
            case "keys": return try KeysCommand.run(rest)
            case "ring": return try RingCommand.run(rest)
            case "shards": return try ShardsCommand.run(rest)
            case "lock": return try LockCommand.run(rest)
            case "queue": return try QueueCommand.run(rest)
            case "cache": return try CacheCommand.run(rest)
            case "sim": return try SimCommand.run(rest)
            case "raft": return try RaftCommand.run(rest)
            case "bench" where rest.first == "raft": return try RaftBenchCommand.run(Array(rest.dropFirst()))
            case "bench" where rest.first == "lock": return try LockBenchCommand.run(Array(rest.dropFirst()))
            case "bench" where rest.first == "queue": return try QueueBenchCommand.run(Array(rest.dropFirst()))
            case "bench" where rest.first == "cache": return try CacheBenchCommand.run(Array(rest.dropFirst()))
            case "bench": return try RingBenchCommand.run(rest)
            case "snapshot": return try SnapshotCommand.run(rest)
            case "completion": return try CompletionCommand.run(rest)
            default:
                throw UsageError("unknown command \"\(command)\" (see 'chorus --help')")
            }
        } catch let e as UsageError {
            report(errorLine(e.message))
            return 2
        } catch {
            report(errorLine(String(describing: error)))
            return 1
        }
    }

    /// One error as printed: "chorus: " and the message on one line, ending with a newline.
    static func errorLine(_ message: String) -> String {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        return "chorus: \(oneLine)\n"
    }
}
