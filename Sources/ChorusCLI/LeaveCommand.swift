import ChorusBase
import ChorusRuntime

/// `chorus leave`: asks an agent to leave the cluster gracefully; the agent then exits.
enum LeaveCommand {
    static let spec = CommandSpec(
        name: "leave",
        summary: "Ask an agent to leave the cluster gracefully; the agent exits once its leave has spread.",
        usage: "chorus leave [--api HOST:PORT]",
        options: [AgentClient.apiOption])

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus leave takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let object = try client.object(try client.call(.post, "/v1/leave", timeout: .seconds(15)))
        print("agent \(object["name"]?.stringValue ?? client.address) left the cluster")
        return 0
    }
}
