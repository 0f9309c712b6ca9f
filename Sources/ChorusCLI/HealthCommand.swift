import ChorusRuntime

/// `chorus health`: asks an agent's `GET /health`; exit 0 only while the agent runs and is not
/// leaving. Made for container health checks, where the image holds no HTTP client but chorus.
enum HealthCommand {
    static let spec = CommandSpec(
        name: "health",
        summary: "Check an agent's health (GET /health): exit 0 while it runs and is not leaving, else 1.",
        usage: "chorus health [--json] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print the agent's JSON answer as is ({\"status\":\"ok\",\"name\"})."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ])

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus health takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let response = try client.call(.get, "/health", timeout: .seconds(3))
        if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
        let object = try client.object(response)
        print("\(object["status"]?.stringValue ?? "ok") \(object["name"]?.stringValue ?? client.address)")
        return 0
    }
}
