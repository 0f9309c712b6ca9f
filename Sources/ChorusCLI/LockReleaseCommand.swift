import Foundation
import ChorusLocks
import ChorusRuntime

/// `chorus lock release NAME`: releases a lock a session holds — the session given with
/// `--session`, else `$CHORUS_LOCK_SESSION`, which `chorus lock acquire NAME -- CMD` gives the
/// command it runs, so that the command can let go of the lock before it ends.
///
/// Invariant: exit 0 means the agent answered that the lock is released; a lock the session
/// does not hold is a failure (`not_held`, exit 1), and a request with no final answer is
/// repeated with the same request id (the agent applies it once) for up to 5 s.
enum LockReleaseCommand {
    static let spec = CommandSpec(
        name: "lock release",
        summary: "Release a lock held by a session (the one in $CHORUS_LOCK_SESSION unless --session says).",
        usage: "chorus lock release NAME [--session ID] [--json] [--api HOST:PORT]",
        options: [
            .init("--session", value: "ID", help: "The holder's session (printed by 'chorus lock acquire --json').",
                  default: "$CHORUS_LOCK_SESSION"),
            .init("--json", help: "Print the agent's answer ({\"released\":true}) as JSON."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ],
        details: """
        Under 'chorus lock acquire NAME -- CMD', CMD may run 'chorus lock release "$CHORUS_LOCK_NAME"'
        to let go early; acquire then finds the lock released and exits with CMD's status.
        A session that does not hold NAME is refused (not_held, exit 1).
        """)

    /// The lock name and session; nil for help.
    static func parse(_ args: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(UsageError) -> (name: String, session: String, ParsedArguments)? {
        let p = try spec.parse(args)
        if p.wantsHelp { return nil }
        guard p.positionals.count == 1, let name = p.positionals.first else {
            throw UsageError(p.positionals.isEmpty ? "chorus lock release needs a lock NAME" : "chorus lock release takes one NAME")
        }
        do { _ = try LockName(name) } catch { throw UsageError(error.description) }
        guard let session = p.string("--session") ?? environment["CHORUS_LOCK_SESSION"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw UsageError("chorus lock release needs --session ID (or CHORUS_LOCK_SESSION, set for a command run under the lock)")
        }
        return (name, session, p)
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let (name, session, p) = try parse(args) else { print(spec.helpText); return 0 }
        let api = LockAPI(client: AgentClient(p))
        switch api.releaseSettling(name, session: session) {
        case let .ok(response):
            print(p.flag("--json") ? AgentClient.jsonText(response) : "released \(name) (session \(session))")
            return 0
        case let .refused(r) where r.code == "not_held":
            throw CommandFailure("lock \(name): session \(session) does not hold it (not_held)")
        case let .refused(r):
            throw CommandFailure("lock \(name): the agent refused the release: \(r)")
        case let .unsettled(why):
            throw CommandFailure("lock \(name): no answer to the release from the agent at \(api.address): \(why)")
        }
    }
}
