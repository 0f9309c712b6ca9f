import Foundation
import ChorusLocks
import ChorusRuntime

/// `chorus lock`: distributed locks through any agent — `acquire` (hold a lock, or run a
/// command under it), `release` (let go of a session's lock), `status` (one lock's holders
/// and queue), `list` (locks by prefix).
enum LockCommand {
    static let subcommands: [(String, String)] = [
        ("acquire", "Acquire a lock; hold it until interrupted, or run a command under it (NAME -- CMD ARGS...)."),
        ("release", "Release a lock a session holds (inside a command run under the lock: its own)."),
        ("status", "Show one lock's holders and waiters."),
        ("list", "List the locks whose names start with a prefix, with their holders and waiters."),
    ]

    static var helpText: String {
        var s = "Distributed locks: sessions, exclusive and shared modes, fencing tokens.\n\n"
        s += "Usage: chorus lock SUBCOMMAND [options]\n\nSubcommands:\n"
        for (name, help) in subcommands { s += "  " + name.padding(toLength: 9, withPad: " ", startingAt: 0) + help + "\n" }
        s += "\nRun 'chorus lock SUBCOMMAND --help' for its options."
        return s
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("chorus lock needs a subcommand: acquire, release, status or list (see 'chorus lock --help')") }
        let rest = Array(args.dropFirst())
        switch sub {
        case "--help", "-h", "help": print(helpText); return 0
        case "acquire": return try LockAcquireCommand.run(rest)
        case "release": return try LockReleaseCommand.run(rest)
        case "status": return try runStatus(rest)
        case "list": return try runList(rest)
        default: throw UsageError("unknown lock subcommand \"\(sub)\": use acquire, release, status or list")
        }
    }

    // MARK: status

    static let statusSpec = CommandSpec(
        name: "lock status",
        summary: "Show one lock's holders (with their fencing tokens) and its waiters in queue order.",
        usage: "chorus lock status NAME [--json] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print the lock as JSON: {\"name\",\"holders\":[{\"session\",\"mode\",\"token\"}],\"waiters\":[{\"session\",\"mode\",\"request_id\"}]}."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ])

    /// The lock name of `chorus lock status`; nil for help.
    static func parseStatus(_ args: [String]) throws(UsageError) -> (name: String, ParsedArguments)? {
        let p = try statusSpec.parse(args)
        if p.wantsHelp { return nil }
        guard p.positionals.count == 1, let name = p.positionals.first else {
            throw UsageError(p.positionals.isEmpty ? "chorus lock status needs a lock NAME" : "chorus lock status takes one NAME")
        }
        do { _ = try LockName(name) } catch { throw UsageError(error.description) }
        return (name, p)
    }

    static func runStatus(_ args: [String]) throws -> Int32 {
        guard let (name, p) = try parseStatus(args) else { print(statusSpec.helpText); return 0 }
        let view = try LockAPI(client: AgentClient(p)).status(name)
        print(p.flag("--json") ? try json(view) : statusText(view))
        return 0
    }

    /// One lock as a table: holders first, then waiters in queue order.
    static func statusText(_ view: LockView) -> String {
        if view.holders.isEmpty && view.waiters.isEmpty { return "\(view.name): free" }
        var t = TextTable(["ROLE", "SESSION", "MODE", "TOKEN", "REQUEST"])
        for h in view.holders { t.append(["holder", h.session, h.mode, String(h.token), "-"]) }
        for (i, w) in view.waiters.enumerated() { t.append(["waiter \(i + 1)", w.session, w.mode, "-", w.requestID ?? "-"]) }
        let counts = "\(view.holders.count) holder\(view.holders.count == 1 ? "" : "s"), \(view.waiters.count) waiter\(view.waiters.count == 1 ? "" : "s")"
        return "\(view.name): \(counts)\n" + t.text
    }

    // MARK: list

    static let listSpec = CommandSpec(
        name: "lock list",
        summary: "List the locks whose names start with PREFIX (all locks without one), sorted by name.",
        usage: "chorus lock list [PREFIX] [--json] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print a JSON array of locks as 'chorus lock status --json' prints one."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ],
        details: "A prefix matches bytes: \"jobs/\" lists jobs/a and jobs/b, not jobsx.")

    /// The prefix of `chorus lock list` ("" for all); nil for help.
    static func parseList(_ args: [String]) throws(UsageError) -> (prefix: String, ParsedArguments)? {
        let p = try listSpec.parse(args)
        if p.wantsHelp { return nil }
        guard p.positionals.count <= 1 else { throw UsageError("chorus lock list takes at most one PREFIX, got also \"\(p.positionals[1])\"") }
        return (p.positionals.first ?? "", p)
    }

    static func runList(_ args: [String]) throws -> Int32 {
        guard let (prefix, p) = try parseList(args) else { print(listSpec.helpText); return 0 }
        let views = try LockAPI(client: AgentClient(p)).list(prefix: prefix)
        print(p.flag("--json") ? try json(views) : listText(views))
        return 0
    }

    /// One row per lock: the holders' mode, how many hold and wait, and the newest token.
    static func listText(_ views: [LockView]) -> String {
        var t = TextTable(["NAME", "MODE", "HOLDERS", "WAITERS", "TOKEN"])
        for v in views {
            let modes = Set(v.holders.map(\.mode)).sorted().joined(separator: ",")
            t.append([v.name, modes.isEmpty ? "-" : modes, String(v.holders.count), String(v.waiters.count),
                      v.holders.map(\.token).max().map(String.init) ?? "-"])
        }
        return t.text + "\n\(views.count) lock\(views.count == 1 ? "" : "s")"
    }

    static func json<T: Encodable>(_ value: T) throws(CommandFailure) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { throw CommandFailure("cannot encode the lock view") }
        return String(decoding: data, as: UTF8.self)
    }
}
