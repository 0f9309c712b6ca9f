import Foundation
import ChorusRuntime

/// `chorus cache`: the coherent cache through any agent — read a key (from the agent's copy
/// or its home), write or delete it (answered once durable and every other copy is gone),
/// and the agent's cache counters. Every subcommand is one HTTP call under /v1/cache.
enum CacheCommand {
    static let subcommands: [(String, String)] = [
        ("get", "Print a key's value (exit 1 when it has none)."),
        ("put", "Write a key: VALUE as an argument, or stdin with no VALUE; --ttl 10s expires it."),
        ("incr", "Add 1 (or --by N) to a key's integer value, atomically; print the result."),
        ("del", "Delete a key."),
        ("stats", "Show the agent's cache counters: hits, misses, invalidations, evictions, bytes."),
    ]

    static let specs: [CommandSpec] = [getSpec, putSpec, incrSpec, delSpec, statsSpec]

    static func spec(_ sub: String, _ usage: String, _ summary: String, _ extra: [CommandSpec.Option] = []) -> CommandSpec {
        CommandSpec(name: "cache \(sub)", summary: summary, usage: "chorus cache \(sub) \(usage)",
                    options: extra + [.init("--json", help: "Print the agent's JSON answer."), AgentClient.apiOption])
    }

    static let getSpec = spec("get", "KEY", "Print a key's value.")
    static let putSpec = spec("put", "KEY [VALUE]", "Write a key (VALUE, or stdin).", [
        .init("--ttl", value: "DUR", help: "Expire the key this long after its home takes the write (500ms, 10s, 5m).", default: "never"),
    ])
    static let incrSpec = spec("incr", "KEY", "Add to a key's integer value (absent: 0) and print the result.", [
        .init("--by", value: "N", help: "The amount to add (negative subtracts).", default: "1"),
    ])
    static let delSpec = spec("del", "KEY", "Delete a key.")
    static let statsSpec = spec("stats", "", "Show the agent's cache counters.")

    static var helpText: String {
        var s = "Coherent cache: a key's home is its shard's leader, writes go through to the shard's log.\n\n"
        s += "Usage: chorus cache SUBCOMMAND [options]\n\nSubcommands:\n"
        for (name, help) in subcommands { s += "  " + name.padding(toLength: 7, withPad: " ", startingAt: 0) + help + "\n" }
        s += "\nRun 'chorus cache SUBCOMMAND --help' for its options."
        return s
    }

    /// A key as one path segment.
    static func path(_ key: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return "/v1/cache/" + (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("chorus cache needs a subcommand (see 'chorus cache --help')") }
        guard let spec = specs.first(where: { $0.name == "cache \(sub)" }) else {
            if ["--help", "-h", "help"].contains(sub) { print(helpText); return 0 }
            throw UsageError("unknown cache subcommand \"\(sub)\": use \(subcommands.map(\.0).joined(separator: ", "))")
        }
        let p = try spec.parse(Array(args.dropFirst()))
        if p.wantsHelp { print(spec.helpText); return 0 }
        let client = AgentClient(p)
        if sub == "stats" { return show(try client.call(.get, "/v1/cache"), p) }
        guard let key = p.positionals.first, !key.isEmpty else { throw UsageError("chorus cache \(sub) needs a KEY") }
        switch sub {
        case "get":
            let response: HTTPClientResponse
            do { response = try client.exchange(.get, path(key), timeout: .seconds(15)) } catch { throw CommandFailure(error.description) }
            if response.status == 404 {
                if p.flag("--json") { print(AgentClient.jsonText(response)) } else { FileHandle.standardError.write(Data("no value for \(key)\n".utf8)) }
                return 1
            }
            guard response.status == 200 else {
                if let e = response.apiError { throw CommandFailure("agent at \(client.address): \(e.message) (\(e.code))") }
                throw CommandFailure("agent at \(client.address) answered HTTP \(response.status)")
            }
            if p.flag("--json") { print(AgentClient.jsonText(response)); return 0 }
            let o = try client.object(response)
            if let text = o["value"]?.stringValue { print(text) } else if let b64 = o["value_base64"]?.stringValue,
                                                                          let data = Data(base64Encoded: b64) {
                FileHandle.standardOutput.write(data)
            }
            return 0
        case "put":
            let value = p.positionals.count > 1 ? Array(p.positionals[1].utf8) : Array(FileHandle.standardInput.readDataToEndOfFile())
            var target = path(key)
            if let text = p.string("--ttl") {
                let ttl = try LockAcquireCommand.duration("--ttl", text)
                guard ttl >= .milliseconds(1) else { throw UsageError("--ttl must be at least 1ms, got \"\(text)\"") }
                target += "?ttl_ms=\(ttl.nanoseconds / 1_000_000)"
            }
            let response: HTTPClientResponse
            do { response = try client.exchange(.put, target, body: value, timeout: .seconds(15)) } catch { throw CommandFailure(error.description) }
            return try finish(response, client, p)
        case "incr":
            var by: Int64 = 1
            if let text = p.string("--by") {
                guard let n = Int64(text) else { throw UsageError("--by expects an integer, got \"\(text)\"") }
                by = n
            }
            let response: HTTPClientResponse
            do { response = try client.exchange(.post, path(key) + "/incr?by=\(by)", timeout: .seconds(15)) } catch { throw CommandFailure(error.description) }
            guard (200..<300).contains(response.status) else { return try finish(response, client, p) }
            if p.flag("--json") { return show(response, p) }
            if let n = try client.object(response)["value"]?.intValue { print(n) } else { return show(response, p) }
            return 0
        case "del":
            let response: HTTPClientResponse
            do { response = try client.exchange(.delete, path(key), timeout: .seconds(15)) } catch { throw CommandFailure(error.description) }
            return try finish(response, client, p)
        default:
            throw UsageError("unknown cache subcommand \"\(sub)\"")
        }
    }

    static func finish(_ response: HTTPClientResponse, _ client: AgentClient, _ p: ParsedArguments) throws -> Int32 {
        guard (200..<300).contains(response.status) else {
            if let e = response.apiError { throw CommandFailure("agent at \(client.address): \(e.message) (\(e.code))") }
            throw CommandFailure("agent at \(client.address) answered HTTP \(response.status)")
        }
        return show(response, p)
    }

    static func show(_ response: HTTPClientResponse, _ p: ParsedArguments) -> Int32 {
        print(AgentClient.jsonText(response))
        return 0
    }
}
