import ChorusBase
import ChorusRuntime
import ChorusSeal

/// `chorus keys`: lists and rotates an agent's keyring online, one node per call (run each
/// step on every node before the next: install, use, remove), or prints a new random key.
enum KeysCommand {
    static let spec = CommandSpec(
        name: "keys",
        summary: "List or rotate the keys sealing gossip and peer streams (AES-256-GCM), on one agent.",
        usage: "chorus keys list | install KEY | use KEY | remove KEY | mode required|accept_plaintext|open | generate  [--json] [--api HOST:PORT]",
        options: [.init("--json", help: "Print the agent's JSON answer as is."), AgentClient.apiOption, AgentClient.tokenOption],
        details: """
        Rotation across a running cluster (memberlist's model), each step on every node before the next:
          chorus keys install NEW   (every node can now open messages sealed with NEW)
          chorus keys use NEW       (every node now seals with NEW)
          chorus keys remove OLD
        Moving a plaintext cluster to encryption: start each node with --keyring-file and --encrypt open,
        then chorus keys mode accept_plaintext on every node, then chorus keys mode required on every node.
        Keys are 64 hex digits; `chorus keys generate` prints one from libcrypto's random generator.
        Changes are written back to the agent's keyring file, so they survive a restart.
        """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard let verb = p.positionals.first else { throw UsageError("chorus keys needs list, install, use, remove, mode or generate") }
        let rest = Array(p.positionals.dropFirst())
        if verb == "generate" {
            guard rest.isEmpty else { throw UsageError("chorus keys generate takes no arguments") }
            guard let key = Seal.randomKey() else { throw CommandFailure("libcrypto could not provide random bytes") }
            print(key.hex)
            return 0
        }
        let client = AgentClient(p)
        let response: HTTPClientResponse
        switch verb {
        case "list":
            guard rest.isEmpty else { throw UsageError("chorus keys list takes no arguments") }
            response = try client.call(.get, "/v1/keys")
        case "install", "use", "remove":
            guard rest.count == 1, SealKey(hex: rest[0]) != nil else { throw UsageError("chorus keys \(verb) needs one key of 64 hex digits") }
            response = try client.call(.post, "/v1/keys/\(verb)", json: ["key": rest[0]])
        case "mode":
            guard rest.count == 1, SealMode(rawValue: rest[0]) != nil else { throw UsageError("chorus keys mode needs required, accept_plaintext or open") }
            response = try client.call(.put, "/v1/keys/mode", json: ["mode": rest[0]])
        default:
            throw UsageError("unknown keys command \"\(verb)\"; use list, install, use, remove, mode or generate")
        }
        if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
        let object = try client.object(response)
        let primary = object["primary"]?.stringValue ?? "none"
        print("mode \(object["mode"]?.stringValue ?? "?"), primary \(primary)")
        for id in object["keys"]?.arrayValue ?? [] {
            let text = id.stringValue ?? "?"
            print("  key \(text)\(text == primary ? " (primary)" : "")")
        }
        return 0
    }
}
