import Foundation
import ChorusRuntime

/// `chorus info`: an agent's identity, state and protocol settings.
enum InfoCommand {
    static let spec = CommandSpec(
        name: "info",
        summary: "Show an agent's identity, state, member counts and protocol settings.",
        usage: "chorus info [--json] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print the agent's JSON answer as is."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ])

    static let order = ["name", "address", "bind", "api", "version", "cluster", "cluster_id", "uptime_seconds",
                        "incarnation", "joined", "leaving", "tags", "members", "local_health", "data_dir"]

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus info takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let response = try client.call(.get, "/v1/info")
        if p.flag("--json") {
            print(AgentClient.jsonText(response))
            return 0
        }
        print(text(try client.object(response)))
        return 0
    }

    static func text(_ info: [String: JSONValue]) -> String {
        var lines: [String] = []
        let known = order + ["settings"]
        for key in order + info.keys.filter({ !known.contains($0) }).sorted() {
            guard let value = info[key] else { continue }
            lines.append("\(key): \(render(value))")
        }
        if let settings = info["settings"]?.objectValue {
            lines.append("settings:")
            for key in settings.keys.sorted() { lines.append("  \(key): \(render(settings[key] ?? .null))") }
        }
        return lines.joined(separator: "\n")
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case let .object(o): return o.keys.sorted().map { "\($0)=\(render(o[$0] ?? .null))" }.joined(separator: " ")
        case let .array(a): return a.map(render).joined(separator: ",")
        case let .string(s): return s
        case let .integer(i): return String(i)
        case let .number(d): return String(d)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "-"
        }
    }
}
