import Foundation
import ChorusRuntime

/// `chorus ring`: the consistent-hash ring an agent computes from its membership view, with
/// each member's share of the token space and the shards it leads and hosts.
enum RingCommand {
    static let spec = CommandSpec(
        name: "ring",
        summary: "Show the ring an agent computes from its view: each member's share and shards.",
        usage: "chorus ring [--json] [--tokens] [--api HOST:PORT]",
        options: [
            .init("--json", help: "Print the agent's JSON answer as is (GET /v1/ring)."),
            .init("--tokens", help: "Add every virtual node's token: a TOKEN MEMBER listing in ring order (tokens_list in JSON)."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ],
        details: """
        Members that are alive or suspect and not draining (tag chorus.draining=1) are on the ring.
        SHARE is the member's fraction of the token space; PRIMARY counts the shards whose first
        replica it is, HOSTED the shards it replicates.
        """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus ring takes no arguments, got \"\(p.positionals[0])\"") }
        let client = AgentClient(p)
        let response = try client.call(.get, p.flag("--tokens") ? "/v1/ring?tokens=1" : "/v1/ring")
        if p.flag("--json") {
            print(AgentClient.jsonText(response))
            return 0
        }
        let view: RingView
        do { view = try response.decodeJSON(RingView.self) } catch {
            throw CommandFailure("agent at \(client.address) sent a ring that cannot be read")
        }
        print(text(view))
        return 0
    }

    /// The header line, the member table and, when the view carries tokens, the virtual
    /// nodes in ring order.
    static func text(_ view: RingView) -> String {
        let count = view.members.count
        var out = "V=\(view.virtualNodesPerMember) S=\(view.shardCount) R=\(view.replicationFactor)"
            + "  \(count) member\(count == 1 ? "" : "s") on the ring  digest \(view.digest)\n"
        out += table(view)
        let nodes = virtualNodes(view)
        if !nodes.isEmpty {
            var t = TextTable(["TOKEN", "MEMBER"])
            for node in nodes { t.append([node.token, node.member]) }
            out += "\n\n" + t.text
        }
        return out
    }

    static func table(_ view: RingView) -> String {
        var t = TextTable(["NAME", "ADDRESS", "TOKENS", "SHARE", "PRIMARY", "HOSTED"])
        for m in view.members {
            t.append([m.name, m.address, String(m.tokens), percent(m.share), String(m.shardsPrimary), String(m.shardsHosted)])
        }
        return t.text
    }

    /// A share in 0...1 as a percentage with one decimal ("33.3%").
    static func percent(_ share: Double) -> String {
        String(format: "%.1f%%", share * 100)
    }

    /// Every member's listed tokens merged into ring order. The tokens are fixed-width hex,
    /// so text order is numeric order; equal tokens keep the member order (the ring's
    /// tie-break is by name).
    static func virtualNodes(_ view: RingView) -> [(token: String, member: String)] {
        var nodes: [(token: String, member: String)] = []
        for m in view.members { for token in m.tokensList ?? [] { nodes.append((token, m.name)) } }
        return nodes.enumerated()
            .sorted { $0.element.token != $1.element.token ? $0.element.token < $1.element.token : $0.offset < $1.offset }
            .map(\.element)
    }
}
