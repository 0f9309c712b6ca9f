import Foundation
import ChorusBase
import ChorusRuntime

/// `chorus raft serve`: one member of a Raft group (a small key-value state machine) in
/// this process, serving `RaftClientProtocol` clients. Used by the benchmark
/// (docs/raft-benchmark.md). Invariant: it runs until killed; everything acknowledged was
/// fsynced first, so `kill -9` loses nothing committed.
enum RaftCommand {
    static let spec = CommandSpec(
        name: "raft serve",
        summary: "Run one member of a 3-node (or N-node) Raft group with a key-value state machine.",
        usage: "chorus raft serve --id N --peers 1=HOST:PORT,2=HOST:PORT,... --client HOST:PORT --data-dir DIR",
        options: [
            .init("--id", value: "N", help: "This member's id (1, 2, ...); must appear in --peers."),
            .init("--peers", value: "ID=HOST:PORT,...", help: "Every voter's Raft address, this member included."),
            .init("--client", value: "HOST:PORT", help: "Address for clients (binary protocol, see RaftClientProtocol)."),
            .init("--data-dir", value: "DIR", help: "Log and snapshots (created if missing; recovered on start)."),
            .init("--tick-ms", value: "MS", help: "Raft tick; election timeout is 10-20 ticks.", default: "10"),
            .init("--log-level", value: "LEVEL", help: "debug, info, warn or error.", default: "info"),
        ],
        details: """
            The group's voters are exactly the ids in --peers. Entries and hard state are fsynced
            (one fsync per Raft Ready: every proposal of one event-loop turn shares it) before any
            message or reply is sent.
            """)

    static func run(_ args: [String]) throws -> Int32 {
        guard let sub = args.first, sub != "--help", sub != "-h" else { print(spec.helpText); return args.isEmpty ? 2 : 0 }
        guard sub == "serve" else { throw UsageError("unknown raft command \"\(sub)\" (available: serve)") }
        let p = try spec.parse(Array(args.dropFirst()))
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard let id = try p.uint64("--id"), id > 0 else { throw UsageError("--id N (N ≥ 1) is required") }
        guard let peersText = p.string("--peers") else { throw UsageError("--peers is required") }
        var peers: [UInt64: Endpoint] = [:]
        for item in peersText.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = UInt64(parts[0]), pid > 0, let e = Endpoint(parsing: String(parts[1])) else {
                throw UsageError("--peers: expected ID=HOST:PORT, got \"\(item)\"")
            }
            peers[pid] = e
        }
        guard peers[id] != nil else { throw UsageError("--peers must list this member's id \(id)") }
        guard let clientText = p.string("--client"), let client = Endpoint(parsing: clientText) else {
            throw UsageError("--client HOST:PORT is required")
        }
        guard let dir = p.string("--data-dir") else { throw UsageError("--data-dir is required") }
        let tick = try p.int("--tick-ms") ?? 10
        guard (1...1000).contains(tick) else { throw UsageError("--tick-ms must be in 1...1000") }
        let level = Log.Level(parsing: p.string("--log-level") ?? "info") ?? .info
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var settings = RaftDriverSettings(id: id, peers: peers, client: client, dataDirectory: dir)
        settings.tick = .milliseconds(Int64(tick))
        let driver = try RaftDriver(settings: settings, logger: Log(level: level))
        try driver.start()
        while true { pause() }
    }
}
