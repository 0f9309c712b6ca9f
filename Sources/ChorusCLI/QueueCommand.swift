import Foundation
import ChorusQueue
import ChorusRuntime

/// `chorus queue`: the distributed queue through any agent — create a queue, push messages,
/// pull (print, or run a command per message and ack on exit 0), ack, nack, stats, dead
/// letters and redrive. Every subcommand is one or a few HTTP calls under /v1/queues.
enum QueueCommand {
    static let subcommands: [(String, String)] = [
        ("create", "Create a queue (NAME [--partitions N] [--visibility-ms N] [--max-deliveries N] [--dead-letter-queue Q] [--fifo])."),
        ("push", "Publish messages: each argument is one body (or one per line of stdin with no arguments)."),
        ("pull", "Fetch messages and print them, or run a command per message (-- CMD ARGS) and ack on exit 0."),
        ("ack", "Acknowledge receipts (p:offset.delivery)."),
        ("nack", "Return receipts to the queue, optionally after --delay-ms or as dead letters (--dead-letter)."),
        ("stats", "Show a queue's settings and counts."),
        ("dlq", "List the dead letters a queue still holds: body, reason, failed deliveries."),
        ("redrive", "Return dead letters to the queue, from its partitions and from its dead-letter queue."),
    ]

    static let specs: [CommandSpec] = [createSpec, pushSpec, pullSpec, ackSpec, nackSpec, statsSpec, dlqSpec, redriveSpec]

    static func spec(_ sub: String, _ usage: String, _ summary: String, _ options: [CommandSpec.Option]) -> CommandSpec {
        CommandSpec(name: "queue \(sub)", summary: summary, usage: "chorus queue \(sub) \(usage)",
                    options: options + [.init("--json", help: "Print the agent's JSON answer."), AgentClient.apiOption])
    }

    static let createSpec = spec("create", "NAME [options]", "Create a queue; a retry with the same settings is harmless.", [
        .init("--partitions", value: "N", help: "Partitions (1...1024).", default: "8"),
        .init("--visibility-ms", value: "MS", help: "Lease of a delivered message.", default: "30000"),
        .init("--max-deliveries", value: "N", help: "Deliveries before a message becomes a dead letter.", default: "5"),
        .init("--dead-letter-queue", value: "QUEUE", help: "Existing queue that takes the dead letters."),
        .init("--fifo", help: "One message in flight per key (SQS FIFO message groups)."),
    ])
    static let pushSpec = spec("push", "QUEUE [BODY...]", "Publish messages (bodies as arguments, or lines of stdin).", [
        .init("--key", value: "KEY", help: "Key of every message (orders them within its partition)."),
        .init("--id", value: "ID", help: "Producer id prefix: message i gets ID-i (deduplicated within the window)."),
    ])
    static let pullSpec = spec("pull", "QUEUE [-- CMD ARGS...]", "Fetch messages; with a command, run it per message (body on stdin) and ack on exit 0, nack otherwise.", [
        .init("--max", value: "N", help: "Messages per fetch.", default: "10"),
        .init("--wait-ms", value: "MS", help: "Long-poll wait.", default: "5000"),
        .init("--consumer", value: "NAME", help: "Consumer name shown in delivery histories.", default: "cli"),
        .init("--ack", help: "Without a command: ack what was printed."),
        .init("--forever", help: "With a command: keep pulling until interrupted."),
    ])
    static let ackSpec = spec("ack", "QUEUE RECEIPT...", "Acknowledge receipts.", [])
    static let nackSpec = spec("nack", "QUEUE RECEIPT...", "Return receipts to the queue.", [
        .init("--delay-ms", value: "MS", help: "Deliverable again after this delay.", default: "0"),
        .init("--dead-letter", help: "Make them dead letters at once."),
    ])
    static let statsSpec = spec("stats", "QUEUE", "Show a queue's settings and counts.", [])
    static let dlqSpec = spec("dlq", "QUEUE", "List the dead letters each partition still holds (a queue with a dead-letter queue moves them there).", [
        .init("--limit", value: "N", help: "Dead letters per partition (1...1000).", default: "100"),
    ])
    static let redriveSpec = spec("redrive", "QUEUE", "Return dead letters to the queue.", [
        .init("--max", value: "N", help: "Dead letters per partition.", default: "1000"),
    ])

    static var helpText: String {
        var s = "Distributed queue: partitions on the ring's shards, at-least-once delivery, leases, dead letters.\n\n"
        s += "Usage: chorus queue SUBCOMMAND [options]\n\nSubcommands:\n"
        for (name, help) in subcommands { s += "  " + name.padding(toLength: 9, withPad: " ", startingAt: 0) + help + "\n" }
        s += "\nRun 'chorus queue SUBCOMMAND --help' for its options."
        return s
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("chorus queue needs a subcommand (see 'chorus queue --help')") }
        var rest = Array(args.dropFirst())
        var command: [String] = []
        if let i = rest.firstIndex(where: { $0 == "--" || $0 == "--exec" }) {
            command = Array(rest[(i + 1)...])
            rest = Array(rest[..<i])
        }
        guard let spec = specs.first(where: { $0.name == "queue \(sub)" }) else {
            if ["--help", "-h", "help"].contains(sub) { print(helpText); return 0 }
            throw UsageError("unknown queue subcommand \"\(sub)\": use \(subcommands.map(\.0).joined(separator: ", "))")
        }
        let p = try spec.parse(rest)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard let queue = p.positionals.first else { throw UsageError("chorus queue \(sub) needs a QUEUE") }
        do { _ = try QueueName(queue) } catch { throw UsageError(error.description) }
        let client = AgentClient(p)
        let args = Array(p.positionals.dropFirst())
        switch sub {
        case "create":
            var body: [String: Any] = ["name": queue]
            if let n = try p.int("--partitions") { body["partitions"] = n }
            if let n = try p.int("--visibility-ms") { body["visibility_timeout_ms"] = n }
            if let n = try p.int("--max-deliveries") { body["max_deliveries"] = n }
            if let q = p.string("--dead-letter-queue") { body["dead_letter_queue"] = q }
            if p.flag("--fifo") { body["fifo_per_key"] = true }
            return show(try client.call(.post, "/v1/queues", json: body), p)
        case "push":
            let bodies = args.isEmpty ? (readStandardInput().split(separator: "\n").map(String.init)) : args
            guard !bodies.isEmpty else { throw UsageError("nothing to push") }
            var messages: [[String: Any]] = []
            for (i, b) in bodies.enumerated() {
                var m: [String: Any] = ["body": b]
                if let k = p.string("--key") { m["key"] = k }
                if let id = p.string("--id") { m["id"] = "\(id)-\(i)" }
                messages.append(m)
            }
            return show(try client.call(.post, "/v1/queues/\(queue)/messages", json: ["messages": messages], timeout: .seconds(30)), p)
        case "pull":
            return try pull(queue, client, p, command: command)
        case "ack", "nack":
            guard !args.isEmpty else { throw UsageError("chorus queue \(sub) needs RECEIPTs") }
            var body: [String: Any] = ["receipts": args]
            if sub == "nack" {
                body["delay_ms"] = try p.int("--delay-ms") ?? 0
                if p.flag("--dead-letter") { body["dead_letter"] = true }
            }
            return show(try client.call(.post, "/v1/queues/\(queue)/\(sub)", json: body), p)
        case "stats":
            return show(try client.call(.get, "/v1/queues/\(queue)/stats", timeout: .seconds(10)), p)
        case "dlq":
            let limit = try p.int("--limit") ?? 100
            return show(try client.call(.get, "/v1/queues/\(queue)/dead-letters?limit=\(limit)", timeout: .seconds(10)), p)
        case "redrive":
            return show(try client.call(.post, "/v1/queues/\(queue)/redrive", json: ["max_messages": try p.int("--max") ?? 1_000]), p)
        default:
            throw UsageError("unknown queue subcommand \"\(sub)\"")
        }
    }

    static func show(_ response: HTTPClientResponse, _ p: ParsedArguments) -> Int32 {
        print(AgentClient.jsonText(response))
        return 0
    }

    static func readStandardInput() -> String {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Fetches; prints the messages, or runs `command` per message with its body on stdin
    /// (CHORUS_QUEUE_RECEIPT and CHORUS_QUEUE_DELIVERIES in its environment): ack on exit 0,
    /// nack otherwise.
    static func pull(_ queue: String, _ client: AgentClient, _ p: ParsedArguments, command: [String]) throws -> Int32 {
        let wait = try p.int("--wait-ms") ?? 5_000
        let fetch: [String: Any] = ["max_messages": try p.int("--max") ?? 10, "wait_ms": wait, "consumer": p.string("--consumer") ?? "cli"]
        repeat {
            let response = try client.call(.post, "/v1/queues/\(queue)/fetch", json: fetch, timeout: .milliseconds(Int64(wait) + 10_000))
            let messages = try client.object(response)["messages"]?.arrayValue ?? []
            if command.isEmpty {
                print(AgentClient.jsonText(response))
                if p.flag("--ack") {
                    let receipts = messages.compactMap { $0.objectValue?["receipt"]?.stringValue }
                    if !receipts.isEmpty { _ = try client.call(.post, "/v1/queues/\(queue)/ack", json: ["receipts": receipts]) }
                }
                return 0
            }
            for m in messages {
                guard let o = m.objectValue, let receipt = o["receipt"]?.stringValue else { continue }
                let body = o["body"]?.stringValue ?? ""
                let input = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-queue-\(getpid())").path
                _ = FileManager.default.createFile(atPath: input, contents: Data(body.utf8))
                var env = ProcessInfo.processInfo.environment
                env["CHORUS_QUEUE_RECEIPT"] = receipt
                env["CHORUS_QUEUE_DELIVERIES"] = "\(o["deliveries"]?.intValue ?? 0)"
                env["CHORUS_QUEUE_BODY_FILE"] = input
                let child = try ChildProcess.spawn(["/bin/sh", "-c", "exec \"$@\" < \"$CHORUS_QUEUE_BODY_FILE\"", "sh"] + command, environment: env)
                let status = ChildProcess.shellStatus(child.exitStatus(blocking: true) ?? 1)
                try? FileManager.default.removeItem(atPath: input)
                let verb = status == 0 ? "ack" : "nack"
                _ = try client.call(.post, "/v1/queues/\(queue)/\(verb)", json: ["receipts": [receipt]])
                FileHandle.standardError.write(Data("\(receipt): exit \(status), \(verb)ed\n".utf8))
            }
        } while p.flag("--forever")
        return 0
    }
}
