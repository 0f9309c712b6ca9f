import ChorusRuntime

/// `chorus tags set K=V... | chorus tags delete K...`: changes an agent's tags, which it
/// then gossips to the cluster.
enum TagsCommand {
    static let spec = CommandSpec(
        name: "tags",
        summary: "Set or delete tags of an agent; the change is gossiped to every member.",
        usage: "chorus tags set KEY=VALUE... [--json] [--api HOST:PORT]\n       chorus tags delete KEY... [--json] [--api HOST:PORT]",
        options: [.init("--json", help: "Print the agent's JSON answer ({\"tags\":{...}}) as is."), AgentClient.apiOption, AgentClient.tokenOption],
        details: "Prints the agent's tags after the change, one KEY=VALUE per line.")

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard let action = p.positionals.first else { throw UsageError("chorus tags needs set or delete (see 'chorus tags --help')") }
        let items = Array(p.positionals.dropFirst())
        guard !items.isEmpty else { throw UsageError("chorus tags \(action) needs at least one \(action == "set" ? "KEY=VALUE" : "KEY")") }
        let body: [String: Any]
        switch action {
        case "set":
            var set: [String: String] = [:]
            for item in items {
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw UsageError("expected KEY=VALUE, got \"\(item)\"") }
                set[String(item[..<eq])] = String(item[item.index(after: eq)...])
            }
            body = ["set": set]
        case "delete":
            body = ["delete": items]
        default:
            throw UsageError("chorus tags needs set or delete, got \"\(action)\"")
        }
        let client = AgentClient(p)
        let response = try client.call(.put, "/v1/tags", json: body)
        if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
        let object = try client.object(response)
        let tags = object["tags"]?.objectValue ?? [:]
        if tags.isEmpty { print("(no tags)") }
        for key in tags.keys.sorted() { print("\(key)=\(tags[key]?.stringValue ?? "")") }
        return 0
    }
}
