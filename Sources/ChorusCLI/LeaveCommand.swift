import ChorusBase
import ChorusRuntime

/// `chorus leave`: asks an agent to leave the cluster gracefully; the agent then exits.
enum LeaveCommand {
    static let spec = CommandSpec(
        name: "leave",
        summary: "Ask an agent to leave the cluster gracefully; the agent exits once its leave has spread.",
        usage: "chorus leave [--json] [--api HOST:PORT]",
        options: [.init("--json", help: "Print the agent's JSON answer as is."), AgentClient.apiOption, AgentClient.tokenOption])

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus leave takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let response = try client.call(.post, "/v1/leave", timeout: .seconds(15))
        if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
        let object = try client.object(response)
        print("agent \(object["name"]?.stringValue ?? client.address) left the cluster")
        return 0
    }
}
