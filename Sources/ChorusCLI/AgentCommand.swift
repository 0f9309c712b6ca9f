import Foundation
import Glibc
import ChorusBase
import ChorusMembership
import ChorusRing
import ChorusRuntime
import ChorusSeal
import ChorusShards

/// `chorus agent`: runs a node until SIGTERM/SIGINT or `POST /v1/leave`, then leaves the
/// cluster gracefully and exits 0. Each setting comes from its flag, else its `CHORUS_…`
/// variable (`CommandSpec.Option.readingEnvironment`), else the config file, else the
/// default. Tags given by flag or variable are merged over the file's tags by key; seeds
/// given by flag or variable replace the file's seeds.
enum AgentCommand {
    /// The flags, before each is given its `CHORUS_…` variable.
    static let flags: [CommandSpec.Option] = [
        .init("--name", value: "NAME", help: "Member name, unique in the cluster.", default: "the host name"),
        .init("--bind", value: "HOST:PORT", help: "Address for gossip (UDP) and peer streams (TCP); both use this port.", default: "127.0.0.1:7946"),
        .init("--advertise", value: "HOST:PORT", help: "Address other members use to reach this node.", default: "the bind address"),
        .init("--api", value: "HOST:PORT", help: "Address of the HTTP API.", default: "127.0.0.1:7947"),
        .init("--resp", value: "HOST:PORT", help: "Address of the cache's RESP2 (Redis protocol) listener: GET, SET (EX, PX), DEL, EXISTS, INCR, DECR, PING."),
        .init("--api-token-file", value: "FILE", help: "File holding a bearer token (16+ printable bytes); every API request but GET /health must then send Authorization: Bearer <token>.",
              default: "none: the API is open to whoever reaches it"),
        .init("--keyring-file", value: "FILE", help: "Keys sealing gossip and peer streams with AES-256-GCM: one key a line, 64 hex digits, the primary first (chorus keys generate); rotations through chorus keys are written back.",
              default: "none: traffic is plaintext"),
        .init("--encrypt", value: "MODE", help: "With a keyring: required (refuse plaintext), accept_plaintext (seal, still take plaintext) or open (send plaintext, open sealed); the last two move a cluster to encryption node by node.",
              default: "required"),
        .init("--seed", value: "HOST:PORT", help: "A member to join through; host names resolve with getaddrinfo. Retried with backoff while none answers.", repeatable: true),
        .init("--cluster", value: "NAME", help: "Cluster name; packets of other clusters are dropped and counted.", default: "chorus"),
        .init("--data-dir", value: "DIR", help: "Directory for the node's state (incarnation, shard logs and snapshots, queue bodies); created if missing; one agent at a time (chorus.lock).", default: "none: nothing kept across restarts"),
        .init("--config", value: "FILE", help: "JSON config file (see config/); flags override it."),
        .init("--tag", value: "KEY=VALUE", help: "A tag announced with this member.", repeatable: true),
        .init("--log-level", value: "LEVEL", help: "debug, info, warn or error.", default: "info"),
        .init("--log-format", value: "FORMAT", help: "text or json.", default: "text"),
        .init("--ring-vnodes", value: "N", help: "Virtual nodes per member on the ring (\(PlacementSettings.virtualNodeLimit)); the same on every node.",
              default: String(PlacementSettings.defaultVirtualNodesPerMember)),
        .init("--shards", value: "N", help: "Shards placed on the ring (\(PlacementSettings.shardLimit)); fixed for the life of the cluster.",
              default: String(PlacementSettings().shardCount)),
        .init("--replicas", value: "N", help: "Replicas per shard (\(PlacementSettings.replicationLimit)); the same on every node.",
              default: String(PlacementSettings().replicationFactor)),
        .init("--bootstrap-expect", value: "N", help: "Found a new cluster together with N nodes (this one included) started with the same N: once all N have joined, every shard starts with its replicas as voters. Without it, a node with no --seed and no stored shards founds a cluster alone; one given --seed never founds.",
              default: "none"),
        .init("--cache-max-bytes", value: "SIZE", help: "Byte budget of this node's cache copies: bytes, or with a unit (512MiB, 2GiB); 1MiB...1TiB.",
              default: "1/16 of physical memory, within 16MiB...4GiB"),
        .init("--queue-bodies-on-disk", help: "Keep queue message bodies on disk (a body log per partition replica under <data-dir>/shards/bodies; the default): the Raft logs are truncated at snapshots that name the bodies, and a joining replica is sent them streamed from the body log."),
        .init("--queue-bodies-in-memory", help: "Keep queue message bodies in memory instead of on disk (a backlog is then bounded by memory)."),
        .init("--snapshot-every", value: "N", help: "Applied entries between a shard's local snapshots (the Raft log is truncated at each).",
              default: String(ShardHostSettings().snapshotEvery)),
        .init("--drain-timeout", value: "MS", help: "Longest a graceful leave waits (milliseconds) for this node's shard replicas to move to other nodes; 0 leaves at once.",
              default: "30000"),
    ]

    static let spec = CommandSpec(
        name: "agent",
        summary: "Run a Chorus node: SWIM membership over UDP (gossip) and TCP (state sync), with an HTTP API.",
        usage: "chorus agent [options]",
        options: flags.map { $0.readingEnvironment() },
        details: """
        The config file holds one JSON object with any of the keys name, bind, advertise, api, api_token_file, keyring_file, encrypt, seeds,
        cluster, data_dir, tags, log_level, log_format, max_datagram_bytes, ring_vnodes, shards, replicas, drain_timeout_ms, bootstrap_expect, cache_max_bytes,
        queue_bodies_on_disk, snapshot_every and
        the protocol settings (probe_interval_ms, suspicion_multiplier, gossip_interval_ms,
        push_pull_interval_ms, ...; see docs/api.md). Lines starting with // and keys starting with _ are
        comments. Unknown keys are errors.

        Every flag can also be set by the environment variable shown beside it: CHORUS_ and the
        flag's name in capitals (CHORUS_DATA_DIR=/var/lib/chorus). A flag beats its variable, a
        variable beats the config file. CHORUS_SEED and CHORUS_TAG hold comma-separated lists.

        SIGTERM or SIGINT leaves the cluster gracefully — first handing this node's shard replicas to
        other nodes (at most drain_timeout_ms, 30 s), then announcing the leave (at most leave_timeout_ms,
        2 s) — and exits 0; a second signal exits at once with status 1.
        """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args, environment: ProcessInfo.processInfo.environment)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus agent takes no arguments, got \"\(p.positionals[0])\"") }
        let file = try configFile(p)
        let logging = try logSettings(from: p, file: file)
        let settings = try settings(from: p, file: file)
        let log = Log(level: logging.level, format: logging.format)
        let agent: Agent
        do { agent = try Agent(settings: settings, log: log) } catch {
            throw CommandFailure(error.description)
        }
        do { agent.watchSignals(try SignalPipe.install()) } catch {
            throw CommandFailure("cannot install signal handlers: \(error)")
        }
        return agent.run()
    }

    /// The file named by --config, or an empty one.
    static func configFile(_ p: ParsedArguments) throws(CommandFailure) -> AgentConfigFile {
        guard let path = p.string("--config") else { return AgentConfigFile() }
        return try AgentConfigFile.load(path: path)
    }

    static func logSettings(from p: ParsedArguments, file: AgentConfigFile) throws -> (level: Log.Level, format: Log.Format) {
        let levelText = p.string("--log-level") ?? file.logLevel ?? "info"
        guard let level = Log.Level(parsing: levelText) else {
            throw UsageError("\(p.origin("--log-level")) must be debug, info, warn or error, got \"\(levelText)\"")
        }
        let formatText = p.string("--log-format") ?? file.logFormat ?? "text"
        guard let format = Log.Format(rawValue: formatText) else {
            throw UsageError("\(p.origin("--log-format")) must be text or json, got \"\(formatText)\"")
        }
        return (level, format)
    }

    /// Flags over the config file over defaults, checked.
    static func settings(from p: ParsedArguments, file: AgentConfigFile) throws -> AgentSettings {
        let name = p.string("--name") ?? file.name ?? hostName()
        let bind = try endpoint(p.string("--bind") ?? file.bind ?? "127.0.0.1:7946", option: p.origin("--bind"))
        let api = try endpoint(p.string("--api") ?? file.api ?? "127.0.0.1:7947", option: p.origin("--api"))
        let advertise = try (p.string("--advertise") ?? file.advertise).map { text throws in try endpoint(text, option: p.origin("--advertise")) }
        let resp = try (p.string("--resp") ?? file.resp).map { text throws in try endpoint(text, option: p.origin("--resp")) }
        let seedFlags = p.all("--seed")
        let seeds = seedFlags.isEmpty ? (file.seeds ?? []) : seedFlags
        for seed in seeds where Endpoint.split(seed) == nil {
            throw UsageError("\(p.origin("--seed")) expects HOST:PORT (or [IPv6]:PORT), got \"\(seed)\"")
        }
        var tagMap = file.tags ?? [:]
        for pair in p.all("--tag") {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw UsageError("\(p.origin("--tag")) expects KEY=VALUE, got \"\(pair)\"")
            }
            tagMap[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        let tags: Tags
        do { tags = try Tags(tagMap) } catch { throw UsageError("\(p.origin("--tag")): \(error.message)") }
        let cluster = p.string("--cluster") ?? file.cluster ?? "chorus"
        var settings = AgentSettings(name: name, bind: bind, advertise: advertise, api: api, seeds: seeds,
                                     clusterName: cluster, dataDirectory: p.string("--data-dir") ?? file.dataDir,
                                     tags: tags, membership: file.membership)
        settings.membership.cluster = ClusterID.from(name: cluster)
        settings.resp = resp
        if let n = file.maxDatagramBytes { settings.maxDatagramBytes = n }
        if let path = p.string("--keyring-file") ?? file.keyringFile {
            do { settings.keyring = try KeyringFile.load(path: path) } catch { throw UsageError("\(p.origin("--keyring-file")): \(error.description)") }
            settings.keyringPath = path
        }
        if let text = p.string("--encrypt") ?? file.encrypt {
            guard let mode = SealMode(rawValue: text) else {
                throw UsageError("\(p.origin("--encrypt")) must be required, accept_plaintext or open, got \"\(text)\"")
            }
            settings.sealMode = mode
        }
        if let path = p.string("--api-token-file") ?? file.apiTokenFile {
            do { settings.apiToken = try APIToken.load(path: path) } catch { throw UsageError("\(p.origin("--api-token-file")): \(error.description)") }
        }
        settings.placement = try placement(from: p, file: file)
        if p.flag("--queue-bodies-on-disk"), p.flag("--queue-bodies-in-memory") {
            throw UsageError("--queue-bodies-on-disk and --queue-bodies-in-memory contradict each other: give one")
        }
        settings.queueBodiesOnDisk = p.flag("--queue-bodies-in-memory") ? false
            : p.flag("--queue-bodies-on-disk") || (file.queueBodiesOnDisk ?? true)
        if let n = try p.int("--snapshot-every") ?? file.snapshotEvery {
            guard n >= 1, n <= 100_000_000 else { throw UsageError("\(p.origin("--snapshot-every")) must be 1...100000000, got \(n)") }
            settings.shards.snapshotEvery = n
        }
        if let ms = try p.int("--drain-timeout") ?? file.drainTimeoutMillis {
            guard ms >= 0, ms <= 3_600_000 else { throw UsageError("\(p.origin("--drain-timeout")) must be 0...3600000 ms, got \(ms)") }
            settings.drainTimeout = .milliseconds(Int64(ms))
        }
        if let text = p.string("--cache-max-bytes") ?? file.cacheMaxBytes {
            settings.cacheMaxBytes = try cacheMaxBytes(text, option: p.origin("--cache-max-bytes"))
        }
        if let n = try p.int("--bootstrap-expect") ?? file.bootstrapExpect {
            guard (1...AgentSettings.bootstrapExpectLimit).contains(n) else {
                throw UsageError("\(p.origin("--bootstrap-expect")) must be 1...\(AgentSettings.bootstrapExpectLimit), got \(n)")
            }
            settings.bootstrapExpect = n
        }
        do { try settings.validate() } catch { throw CommandFailure(error.description) }
        return settings
    }

    /// A cache budget as `--cache-max-bytes` or `cache_max_bytes` gives it, checked.
    static func cacheMaxBytes(_ text: String, option: String) throws(UsageError) -> Int {
        guard let n = ByteSize.parse(text) else {
            throw UsageError("\(option) expects a byte count such as 67108864, 512MiB or 2GiB, got \"\(text)\"")
        }
        guard CacheMemoryShare.allowed.contains(n) else {
            throw UsageError("\(option) must be 1MiB...1TiB, got \(text) (\(n) bytes)")
        }
        return n
    }

    /// The ring flags over the config file's (already validated) values. A value out of
    /// range is a usage error naming the flag and the rule.
    static func placement(from p: ParsedArguments, file: AgentConfigFile) throws(UsageError) -> PlacementSettings {
        var placement = file.placement
        let flags: [(String, WritableKeyPath<PlacementSettings, Int>)] = [
            ("--ring-vnodes", \.virtualNodesPerMember), ("--shards", \.shardCount), ("--replicas", \.replicationFactor),
        ]
        for (flag, field) in flags {
            guard let n = try p.int(flag) else { continue }
            placement[keyPath: field] = n
            do { try placement.validate() } catch { throw UsageError("\(p.origin(flag)): \(error.message)") }
        }
        return placement
    }

    /// Resolves a bind/advertise/API address (numeric, or a host name through getaddrinfo).
    static func endpoint(_ text: String, option: String) throws -> Endpoint {
        do {
            guard let first = try Resolver.resolve(text).first else { throw CommandFailure("\(option): no address for \(text)") }
            return first
        } catch let error as ResolveError {
            throw UsageError("\(option): \(error.description)")
        }
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "chorus" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "chorus" : name
    }
}
