import ChorusBase
import ChorusRuntime

/// `chorus join ADDR...`: asks an agent to join (or merge with) the nodes at the addresses.
enum JoinCommand {
    static let spec = CommandSpec(
        name: "join",
        summary: "Ask an agent to join the cluster of the nodes at ADDR... (also merges two clusters).",
        usage: "chorus join ADDR... [--json] [--api HOST:PORT]",
        options: [.init("--json", help: "Print the agent's JSON answer as is (addresses, members_alive, unresolved)."), AgentClient.apiOption, AgentClient.tokenOption],
        details: "Each ADDR is HOST:PORT of another node's gossip address. Succeeds once one of them answers;\nif none answers within the join timeout the agent keeps retrying in the background and this exits 1.")

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard !p.positionals.isEmpty else { throw UsageError("chorus join needs at least one ADDR (HOST:PORT)") }
        for a in p.positionals where Endpoint.split(a) == nil {
            throw UsageError("expected HOST:PORT (or [IPv6]:PORT), got \"\(a)\"")
        }
        let client = AgentClient(p)
        let response = try client.call(.post, "/v1/join", json: ["addresses": p.positionals], timeout: .seconds(15))
        if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
        let object = try client.object(response)
        let through = object["addresses"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? p.positionals.joined(separator: ", ")
        let alive = object["members_alive"]?.intValue.map { " (\($0) members alive)" } ?? ""
        print("joined through \(through)\(alive)")
        for u in object["unresolved"]?.arrayValue?.compactMap(\.stringValue) ?? [] { print("warning: \(u)") }
        return 0
    }
}
