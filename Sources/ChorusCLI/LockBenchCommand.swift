import Foundation
import Synchronization
import ChorusBase
import ChorusLocks
import ChorusRuntime
import ChorusSim

/// `chorus bench lock`: lock acquire+release pairs per second and their latency, against a
/// chorus cluster or (with --etcd) an etcd 3.4 cluster, from C closed-loop client threads.
/// Invariant: only pairs whose release was acknowledged inside the measured window count, and
/// only their latencies are reported; the success rate counts every acquire attempt answered
/// inside the window (a repeat after an unsettled answer is a new attempt).
enum LockBenchCommand {
    static let spec = CommandSpec(
        name: "bench lock",
        summary: "Measure lock acquire+release pairs/s and latency (chorus, or etcd with --etcd).",
        usage: "chorus bench lock --clients C --duration D [--contended] [--api ADDR[,ADDR...]] [--etcd URL[,URL...]] [--latencies FILE] [--json]",
        options: [
            .init("--clients", value: "C", help: "Client threads, each with its own session (etcd: lease) and connection.", default: "1"),
            .init("--duration", value: "D", help: "Measured time (500ms, 10s, 1m).", default: "10s"),
            .init("--warmup", value: "D", help: "Unmeasured time before it.", default: "1s"),
            .init("--contended", help: "All clients lock one shared name (exclusive); otherwise each its own name."),
            .init("--api", value: "ADDR[,ADDR...]", help: "Agent API addresses to start from (or set CHORUS_API).", default: AgentClient.defaultAddress),
            .init("--etcd", value: "URL[,URL...]", help: "Benchmark etcd 3.4 through its JSON gateway instead (http://127.0.0.1:2379,...)."),
            .init("--latencies", value: "FILE", help: "Also write every counted pair's latencies to FILE (CSV: operation,ms)."),
            .init("--json", help: "Print one JSON object."),
        ],
        details: """
        Each client loops: acquire (exclusive, waiting as long as it takes), release, repeat.
        chorus: each client opens a session (TTL longer than the run, so no keep-alives are
        needed) and sends each request straight to its lock's shard leader, found from
        /v1/shards and /v1/members (the chorus.api tag) at start and again after an unsettled
        answer (421, 503, no connection); a name with no known leader goes to an --api node,
        which forwards. etcd: each client grants a lease of the same length and locks with
        POST /v3/lock/lock {name, lease}, unlocks with POST /v3/lock/unlock {key}, all sent to
        the etcd leader (found with /v3/maintenance/status; the first URL if none answers).
        Both sides use one persistent HTTP/1.1 connection per client and server (keep-alive,
        TCP_NODELAY, no pipelining), so connection setup is not measured.
        Latencies: mean, p50, p95 and p99 (nearest rank) of acquire (first send to grant,
        repeats included) and release. Success rate: acquire attempts answered with a grant
        over all acquire attempts answered inside the window; timeouts, connection errors,
        421/429/5xx answers and refusals are failures, listed by kind.
        """)

    struct Settings: Equatable {
        var clients = 1
        var duration: Interval = .seconds(10)
        var warmup: Interval = .seconds(1)
        var contended = false
        var apis: [String] = [AgentClient.defaultAddress]
        /// etcd client endpoints as HOST:PORT; empty for chorus.
        var etcd: [String] = []
        var json = false
        /// Where to write the raw latencies; nil for nowhere.
        var latenciesPath: String?
        var system: String { etcd.isEmpty ? "chorus" : "etcd" }
        var mode: String { contended ? "contended" : "uncontended" }
    }

    /// Parses the arguments; nil when help was asked for.
    static func parse(_ args: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws(UsageError) -> Settings? {
        let p = try spec.parse(args)
        if p.wantsHelp { return nil }
        guard p.positionals.isEmpty else { throw UsageError("chorus bench lock takes no arguments, got \"\(p.positionals[0])\"") }
        var s = Settings()
        if let c = try p.int("--clients") {
            guard (1...1024).contains(c) else { throw UsageError("--clients must be between 1 and 1024, got \(c)") }
            s.clients = c
        }
        if let text = p.string("--duration") {
            s.duration = try LockAcquireCommand.duration("--duration", text)
            guard s.duration > .zero else { throw UsageError("--duration must be positive, got \"\(text)\"") }
        }
        if let text = p.string("--warmup") { s.warmup = try LockAcquireCommand.duration("--warmup", text) }
        s.contended = p.flag("--contended")
        s.json = p.flag("--json")
        if let path = p.string("--latencies") {
            guard !path.isEmpty else { throw UsageError("--latencies needs a file name") }
            s.latenciesPath = path
        }
        let apiText = p.string("--api") ?? environment["CHORUS_API"].flatMap { $0.isEmpty ? nil : $0 } ?? AgentClient.defaultAddress
        s.apis = try list("--api", apiText).map { item throws(UsageError) -> String in
            guard Endpoint(parsing: item) != nil || item.contains(":") else { throw UsageError("--api: bad address \"\(item)\" (HOST:PORT)") }
            return item
        }
        if let text = p.string("--etcd") {
            if p.string("--api") != nil { throw UsageError("--api and --etcd do not go together: one system per run") }
            s.etcd = try list("--etcd", text).map { url throws(UsageError) -> String in try etcdEndpoint(url) }
        }
        return s
    }

    static func list(_ option: String, _ text: String) throws(UsageError) -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else { throw UsageError("\(option) expects a comma-separated list, got \"\(text)\"") }
        return items
    }

    /// "http://127.0.0.1:2379" (or a bare "127.0.0.1:2379") as HOST:PORT.
    static func etcdEndpoint(_ url: String) throws(UsageError) -> String {
        if url.hasPrefix("https://") { throw UsageError("--etcd: TLS is not supported, got \"\(url)\"") }
        var rest = url.hasPrefix("http://") ? String(url.dropFirst(7)) : url
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.isEmpty, !rest.contains("/"), let colon = rest.lastIndex(of: ":"),
              let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            throw UsageError("--etcd: expected http://HOST:PORT, got \"\(url)\"")
        }
        return rest
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let settings = try parse(args) else { print(spec.helpText); return 0 }
        let result = try measure(settings)
        if let path = settings.latenciesPath {
            guard FileManager.default.createFile(atPath: path, contents: Data(latencyCSV(result).utf8)) else {
                throw CommandFailure("cannot write the latencies to \(path)")
            }
        }
        print(settings.json ? try report(json: result, settings) : report(text: result, settings))
        if let failure = result.failure {
            FileHandle.standardError.write(Data("chorus: a client stopped early: \(failure)\n".utf8))
            return 1
        }
        return 0
    }

    // MARK: The run

    struct Result: Equatable {
        var seconds = 0.0
        var pairs = 0
        /// Requests answered with "try again" (unsettled, or an acquire that timed out).
        var retries = 0
        /// Acquire and release latencies of the counted pairs, in milliseconds.
        var acquireMillis: [Double] = []
        var releaseMillis: [Double] = []
        var acquires = LockBenchTally()
        var releases = LockBenchTally()
        /// The first client that had to stop, and why.
        var failure: String?
        var pairsPerSecond: Double { seconds > 0 ? Double(pairs) / seconds : 0 }
    }

    static func measure(_ s: Settings) throws(CommandFailure) -> Result {
        let runID = String(UInt32.random(in: .min ... .max), radix: 36)
        let name = { (i: Int) in s.contended ? "bench-\(runID)/shared" : "bench-\(runID)/c\(i)" }
        // Longer than the whole run and teardown: no keep-alives needed, no wait times out.
        let leaseSeconds = Int64((s.warmup + s.duration).seconds.rounded(.up)) + 30
        var clients: [any LockBenchClient] = []
        if s.etcd.isEmpty {
            let maxWaitMillis = Int64(LockTableSettings().maxWaitMillis)
            let routes = ShardRoutes(fallbacks: s.apis)
            routes.refresh(force: true)
            guard routes.table != nil else {
                throw CommandFailure("no agent among \(s.apis.joined(separator: ",")) answered /v1/shards and /v1/members")
            }
            for i in 0..<s.clients {
                clients.append(ChorusLockClient(name: name(i), routes: routes, waitMillis: min(leaseSeconds * 1000, maxWaitMillis), ttl: .seconds(leaseSeconds)))
            }
        } else {
            let endpoint = EtcdLockClient.leader(of: s.etcd) ?? s.etcd[0]
            for i in 0..<s.clients { clients.append(EtcdLockClient(name: name(i), endpoint: endpoint, ttlSeconds: leaseSeconds)) }
        }
        do {
            for c in clients { try c.open() }
        } catch {
            for c in clients { c.close() }
            throw error
        }
        let start = MonotonicClock.now() + s.warmup
        let window = LockBenchWorker.Window(start: start, end: start + s.duration)
        let workers = clients.map { LockBenchWorker(client: $0, window: window) }
        let group = DispatchGroup()
        for w in workers {
            group.enter()
            Thread.detachNewThread {
                w.run()
                group.leave()
            }
        }
        group.wait()
        for c in clients { c.close() }
        var r = Result(seconds: s.duration.seconds)
        for w in workers {
            r.pairs += w.acquireMillis.count
            r.retries += w.retries
            r.acquireMillis += w.acquireMillis
            r.releaseMillis += w.releaseMillis
            r.acquires.add(w.acquires)
            r.releases.add(w.releases)
            if r.failure == nil { r.failure = w.failure }
        }
        return r
    }

    // MARK: Reports

    static func report(text r: Result, _ s: Settings) -> String {
        let a = LatencySummary(r.acquireMillis), rel = LatencySummary(r.releaseMillis)
        func ms(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "-" }
        func latencies(_ l: LatencySummary?) -> String {
            "mean \(ms(l?.mean)) p50 \(ms(l?.p50)) p95 \(ms(l?.p95)) p99 \(ms(l?.p99)) ms"
        }
        let rate = r.acquires.successRate.map { String(format: "%.2f %%", $0 * 100) } ?? "-"
        let failures = r.acquires.failureList.map { "\($0.kind.rawValue) \($0.count)" }
        return "\(s.system) clients=\(s.clients) \(s.mode): " + String(format: "%.0f pairs/s", r.pairsPerSecond)
            + ", acquire \(latencies(a)), release \(latencies(rel))"
            + ", success \(rate) (\(r.acquires.successes) of \(r.acquires.attempts) acquires"
            + (failures.isEmpty ? "" : "; failed: " + failures.joined(separator: ", ")) + ")"
            + " (\(r.pairs) pairs in \(String(format: "%.1f", r.seconds)) s, \(r.retries) retries)"
    }

    static func report(json r: Result, _ s: Settings) throws(CommandFailure) -> String {
        let a = LatencySummary(r.acquireMillis), rel = LatencySummary(r.releaseMillis)
        func round3(_ x: Double?) -> Any { x.map { ($0 * 1000).rounded() / 1000 } ?? NSNull() }
        func kinds(_ t: LockBenchTally) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: t.failures.map { ($0.key.rawValue, $0.value) })
        }
        var object: [String: Any] = [
            "system": s.system, "clients": s.clients, "mode": s.mode, "duration_s": round3(r.seconds),
            "pairs": r.pairs, "pairs_per_second": round3(r.pairsPerSecond), "retries": r.retries,
            "acquire_mean_ms": round3(a?.mean), "acquire_p50_ms": round3(a?.p50),
            "acquire_p95_ms": round3(a?.p95), "acquire_p99_ms": round3(a?.p99),
            "release_mean_ms": round3(rel?.mean), "release_p50_ms": round3(rel?.p50),
            "release_p95_ms": round3(rel?.p95), "release_p99_ms": round3(rel?.p99),
            "acquire_attempts": r.acquires.attempts, "acquire_successes": r.acquires.successes,
            "success_rate": r.acquires.successRate.map { ($0 * 1_000_000).rounded() / 1_000_000 } ?? NSNull(),
            "acquire_failures": kinds(r.acquires),
            "release_attempts": r.releases.attempts, "release_failures": kinds(r.releases),
            "connections": "keep-alive",
        ]
        if let f = r.failure { object["failure"] = f }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw CommandFailure("cannot encode the report")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Every counted pair's latencies as CSV, acquires then releases, in milliseconds.
    static func latencyCSV(_ r: Result) -> String {
        var out = "operation,ms\n"
        for x in r.acquireMillis { out += "acquire,\(String(format: "%.4f", x))\n" }
        for x in r.releaseMillis { out += "release,\(String(format: "%.4f", x))\n" }
        return out
    }
}

/// One client thread's closed loop and its samples. Only its own thread touches the samples
/// until `run` returns (the caller joins before reading).
final class LockBenchWorker: @unchecked Sendable {
    struct Window: Sendable {
        var start: Instant
        var end: Instant
    }

    let client: any LockBenchClient
    let window: Window
    private(set) var acquireMillis: [Double] = []
    private(set) var releaseMillis: [Double] = []
    private(set) var retries = 0
    private(set) var acquires = LockBenchTally()
    private(set) var releases = LockBenchTally()
    private(set) var failure: String?

    init(client: any LockBenchClient, window: Window) {
        self.client = client
        self.window = window
    }

    /// Loops until the window ends; a pair in progress then is finished (its lock released)
    /// but not counted.
    func run() {
        while MonotonicClock.now() < window.end {
            let began = MonotonicClock.now()
            guard step(client.acquire, &acquires) else { return }
            let acquired = MonotonicClock.now()
            guard step(client.release, &releases) else { return }
            let released = MonotonicClock.now()
            if released >= window.start && released < window.end {
                acquireMillis.append((acquired - began).milliseconds)
                releaseMillis.append((released - acquired).milliseconds)
            }
        }
    }

    /// Repeats a request until it is done, counting each answer that arrives inside the window
    /// in `tally`; false if the client must stop.
    private func step(_ request: () -> LockBenchStep, _ tally: inout LockBenchTally) -> Bool {
        var pause: UInt32 = 1_000
        while true {
            let answer = request()
            let now = MonotonicClock.now()
            if now >= window.start && now < window.end {
                switch answer {
                case .done: tally.succeeded()
                case let .failed(kind, _), let .retry(kind, _): tally.failed(kind)
                }
            }
            switch answer {
            case .done: return true
            case let .failed(_, why):
                failure = why
                return false
            case let .retry(_, why):
                retries += 1
                // Give up on a server that stays away well past the window.
                if MonotonicClock.now() > window.end + .seconds(30) {
                    failure = "still failing 30 s after the run: \(why)"
                    return false
                }
                usleep(pause)
                pause = min(pause * 2, 200_000)
            }
        }
    }
}
