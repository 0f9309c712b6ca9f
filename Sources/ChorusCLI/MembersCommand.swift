import Foundation
import ChorusMembership
import ChorusRuntime

/// `chorus members`: the members an agent sees, as a table or JSON.
enum MembersCommand {
    static let spec = CommandSpec(
        name: "members",
        summary: "List the members an agent sees.",
        usage: "chorus members [--status S] [--json] [--verbose] [--api HOST:PORT]",
        options: [
            .init("--status", value: "S", help: "Only members with this status: alive, suspect, dead or left."),
            .init("--json", help: "Print a JSON array (name, address, status, incarnation, tags, phi, last_change, seconds_since_change, local)."),
            .init("--verbose", help: "Add incarnation, phi and time since the last change to the table."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ])

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus members takes no arguments, got \"\(p.positionals[0])\"") }
        var path = "/v1/members"
        if let status = p.string("--status") {
            guard MemberStatus(name: status) != nil else {
                throw UsageError("--status must be alive, suspect, dead or left, got \"\(status)\"")
            }
            path += "?status=\(status)"
        }
        let client = AgentClient(p)
        let response = try client.call(.get, path)
        let members: [MemberView]
        do { members = try response.decodeJSON([MemberView].self) } catch {
            throw CommandFailure("agent at \(client.address) sent a member list that cannot be read")
        }
        if p.flag("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(members) else { throw CommandFailure("cannot encode the member list") }
            print(String(decoding: data, as: UTF8.self))
            return 0
        }
        print(table(members, verbose: p.flag("--verbose")))
        return 0
    }

    static func table(_ members: [MemberView], verbose: Bool) -> String {
        var t = TextTable(verbose ? ["NAME", "ADDRESS", "STATUS", "INCARNATION", "PHI", "LAST CHANGE", "TAGS"]
                                  : ["NAME", "ADDRESS", "STATUS", "TAGS"])
        for m in members {
            let tags = m.tags.keys.sorted().map { "\($0)=\(m.tags[$0] ?? "")" }.joined(separator: ",")
            if verbose {
                t.append([m.name, m.address, m.status, String(m.incarnation), String(format: "%.2f", m.phi),
                          ago(m.secondsSinceChange), tags])
            } else {
                t.append([m.name, m.address, m.status, tags])
            }
        }
        return t.text
    }

    static func ago(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs ago", seconds) }
        if seconds < 3600 { return "\(Int(seconds / 60))m\(Int(seconds) % 60)s ago" }
        return "\(Int(seconds / 3600))h\(Int(seconds / 60) % 60)m ago"
    }
}
