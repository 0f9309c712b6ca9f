import Foundation
import Synchronization
import ChorusBase
import ChorusCache
import ChorusNode
import ChorusRuntime
import ChorusSim

/// `chorus bench cache`: a Zipfian read/write mix over the cache of a running cluster, from
/// C closed-loop client threads spread over the --api nodes (one keep-alive HTTP connection
/// each). A read is a hit or a miss as the answering node says (`X-Chorus-Cache`); the
/// coherence messages and writes are the growth of the nodes' `/metrics` counters over the
/// run. With --embedded, the in-process read path instead: a `CacheController` holding
/// shared copies answers reads on one thread, no network and no event loop.
/// Invariant: only operations that started and ended inside the measured window count.
enum CacheBenchCommand {
    static let spec = CommandSpec(
        name: "bench cache",
        summary: "Measure a Zipfian cache read/write mix (hit rate, ops/s, hit and miss latency, coherence messages per write).",
        usage: "chorus bench cache [--clients C] [--keys K] [--reads R] [--zipf S] [--value-bytes B] [--duration D] [--api ADDR[,ADDR...]] [--json] | --embedded [--keys K]",
        options: [
            .init("--clients", value: "C", help: "Client threads (closed loop), spread over the --api nodes.", default: "16"),
            .init("--keys", value: "K", help: "Keys in the keyspace (rank 1 is the most popular).", default: "10000"),
            .init("--reads", value: "R", help: "Fraction of operations that are reads (the rest are writes).", default: "0.9"),
            .init("--zipf", value: "S", help: "Zipf exponent of the key popularity.", default: "0.99"),
            .init("--value-bytes", value: "B", help: "Bytes per written value.", default: "100"),
            .init("--duration", value: "D", help: "Measured time.", default: "10s"),
            .init("--warmup", value: "D", help: "Unmeasured time before it (copies are made, keys written).", default: "2s"),
            .init("--api", value: "ADDR[,ADDR...]", help: "Agent API addresses.", default: AgentClient.defaultAddress),
            .init("--embedded", help: "Measure the in-process read path of one cache controller (one core) instead."),
            .init("--json", help: "Print one JSON object."),
        ],
        details: """
        Each client draws a key by Zipf's law (exponent --zipf over --keys keys) and reads it
        (GET /v1/cache/{key}) with probability --reads, or writes --value-bytes bytes to it
        (PUT, written through to the key's shard before the answer). A read is a hit when the
        node answered it from its own copy, a miss when it asked the key's home (the answer's
        X-Chorus-Cache header). Coherence messages per write is the growth of the sum of
        chorus_cache_coherence_messages_total over the nodes, divided by the growth of
        chorus_cache_writes_total, from /metrics before and after the run (warm-up included:
        the messages of reads that missed count too, as a write is what makes them miss).
        """)

    struct Settings: Equatable {
        var clients = 16
        var keys = 10_000
        var reads = 0.9
        var zipf = 0.99
        var valueBytes = 100
        var duration: Interval = .seconds(10)
        var warmup: Interval = .seconds(2)
        var apis: [String] = [AgentClient.defaultAddress]
        var embedded = false
        var json = false
    }

    static func parse(_ args: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws(UsageError) -> Settings? {
        let p = try spec.parse(args)
        if p.wantsHelp { return nil }
        guard p.positionals.isEmpty else { throw UsageError("chorus bench cache takes no arguments, got \"\(p.positionals[0])\"") }
        var s = Settings()
        if let c = try p.int("--clients") {
            guard (1...1024).contains(c) else { throw UsageError("--clients must be 1...1024, got \(c)") }
            s.clients = c
        }
        if let k = try p.int("--keys") {
            guard (1...10_000_000).contains(k) else { throw UsageError("--keys must be 1...10000000, got \(k)") }
            s.keys = k
        }
        if let r = try p.double("--reads") {
            guard (0...1).contains(r) else { throw UsageError("--reads must be between 0 and 1, got \(r)") }
            s.reads = r
        }
        if let z = try p.double("--zipf") {
            guard (0...5).contains(z) else { throw UsageError("--zipf must be between 0 and 5, got \(z)") }
            s.zipf = z
        }
        if let b = try p.int("--value-bytes") {
            guard (1...(1 << 20)).contains(b) else { throw UsageError("--value-bytes must be 1...1048576, got \(b)") }
            s.valueBytes = b
        }
        if let text = p.string("--duration") {
            s.duration = try LockAcquireCommand.duration("--duration", text)
            guard s.duration > .zero else { throw UsageError("--duration must be positive, got \"\(text)\"") }
        }
        if let text = p.string("--warmup") { s.warmup = try LockAcquireCommand.duration("--warmup", text) }
        s.embedded = p.flag("--embedded")
        s.json = p.flag("--json")
        let apiText = p.string("--api") ?? environment["CHORUS_API"].flatMap { $0.isEmpty ? nil : $0 } ?? AgentClient.defaultAddress
        s.apis = apiText.split(separator: ",").map(String.init)
        guard !s.apis.isEmpty else { throw UsageError("--api needs at least one HOST:PORT") }
        return s
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let s = try parse(args) else { print(spec.helpText); return 0 }
        let result = s.embedded ? embedded(s) : try cluster(s)
        if s.json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(result.keys.sorted().map { "\($0)=\(result[$0]!)" }.joined(separator: " "))
        }
        return 0
    }

    // MARK: the cluster mix

    static func cluster(_ s: Settings) throws -> [String: Any] {
        let zipf = ZipfKeys(count: s.keys, exponent: s.zipf)
        let before = try s.apis.map(cacheCounters)
        let clock = ContinuousClock()
        let t0 = clock.now
        @Sendable func nowNanos() -> Int64 { let d = clock.now - t0; return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000 }
        let measureFrom = s.warmup.nanoseconds, measureTo = measureFrom + s.duration.nanoseconds
        struct Stats { var hit: [Double] = []; var miss: [Double] = []; var write: [Double] = []; var errors = 0; var writesAll = 0 }
        let stats = Mutex(Stats())
        let stop = Atomic<Bool>(false)
        let finished = Atomic<Int>(0)
        let value = Array(repeating: UInt8(ascii: "x"), count: s.valueBytes)
        var threads: [Thread] = []
        for i in 0..<s.clients {
            threads.append(Thread {
                let c = HTTPClientConnection(s.apis[i % s.apis.count], peerName: "agent")
                var rng = SeededRandom(seed: UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
                var local = Stats()
                while !stop.load(ordering: .relaxed) {
                    let path = "/v1/cache/zipf-\(zipf.draw(&rng))"
                    let read = Double(rng.next() >> 11) / Double(1 << 53) < s.reads
                    let started = nowNanos()
                    let r = try? c.request(method: read ? .get : .put, path: path, body: read ? nil : value, timeout: .seconds(10))
                    let done = nowNanos()
                    let ms = Double(done - started) / 1e6
                    let inWindow = started >= measureFrom && done <= measureTo
                    guard let r, r.status == 200 || (read && r.status == 404) else { local.errors += 1; continue }
                    if !read { local.writesAll += 1 }
                    guard inWindow else { continue }
                    if !read { local.write.append(ms) } else if r.headers["X-Chorus-Cache"] == "hit" { local.hit.append(ms) } else { local.miss.append(ms) }
                }
                stats.withLock { t in
                    t.hit += local.hit; t.miss += local.miss; t.write += local.write
                    t.errors += local.errors; t.writesAll += local.writesAll
                }
                finished.add(1, ordering: .releasing)
            })
        }
        for t in threads { t.start() }
        Thread.sleep(forTimeInterval: Double(measureTo) / 1e9 + 0.1)
        stop.store(true, ordering: .relaxed)
        // Every client ends within its request's timeout and merges its results as it ends.
        while finished.load(ordering: .acquiring) < s.clients && nowNanos() < measureTo + 11_000_000_000 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let after = try s.apis.map(cacheCounters)
        let t = stats.withLock { $0 }
        let seconds = Double(s.duration.nanoseconds) / 1e9
        let reads = t.hit.count + t.miss.count
        let grown = zip(before, after).reduce(into: [String: Double]()) { sum, pair in
            for (name, v) in pair.1 { sum[name, default: 0] += v - (pair.0[name] ?? 0) }
        }
        let writesSeen = grown["chorus_cache_writes_total"] ?? 0
        let messages = grown["chorus_cache_coherence_messages_total"] ?? 0
        let hit = Percentiles(t.hit), miss = Percentiles(t.miss), write = Percentiles(t.write)
        func r3(_ x: Double?) -> Double { ((x ?? 0) * 1000).rounded() / 1000 }
        return [
            "system": "chorus", "nodes": s.apis.count, "clients": s.clients, "keys": s.keys, "zipf": s.zipf, "reads": s.reads,
            "value_bytes": s.valueBytes, "duration_s": seconds,
            "ops_per_s": Int(Double(reads + t.write.count) / seconds),
            "reads_per_s": Int(Double(reads) / seconds), "writes_per_s": Int(Double(t.write.count) / seconds),
            "hit_rate": reads == 0 ? 0 : (Double(t.hit.count) / Double(reads) * 10_000).rounded() / 10_000,
            "hit_p50_ms": r3(hit?.p50), "hit_p99_ms": r3(hit?.p99),
            "miss_p50_ms": r3(miss?.p50), "miss_p99_ms": r3(miss?.p99),
            "write_p50_ms": r3(write?.p50), "write_p99_ms": r3(write?.p99),
            "coherence_messages_per_write": writesSeen == 0 ? 0 : (messages / writesSeen * 100).rounded() / 100,
            "metrics_hits": Int(grown["chorus_cache_hits_total"] ?? 0), "metrics_misses": Int(grown["chorus_cache_misses_total"] ?? 0),
            "metrics_writes": Int(writesSeen), "coherence_messages": Int(messages),
            "errors": t.errors,
        ]
    }

    /// The cache counters of one node's `/metrics` (`chorus_cache_*_total`, summed over labels).
    static func cacheCounters(_ api: String) throws -> [String: Double] {
        let r = try HTTPClientConnection(api, peerName: "agent").request(path: "/metrics", timeout: .seconds(10))
        guard r.status == 200, let text = r.bodyText else { throw CommandFailure("\(api): /metrics answered \(r.status)") }
        return prometheusCounters(text, prefix: "chorus_cache_")
    }

    /// Sums the samples of every `prefix…_total` series in Prometheus text.
    static func prometheusCounters(_ text: String, prefix: String) -> [String: Double] {
        var sums: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            let name = line.prefix { $0 != " " && $0 != "{" }
            guard name.hasSuffix("_total"), let last = line.split(separator: " ").last, let v = Double(last) else { continue }
            sums[String(name), default: 0] += v
        }
        return sums
    }

    // MARK: the embedded read path

    /// One controller on this thread with a shared copy of each of `--keys` keys (made by a
    /// home directory in the same process), then reads of those keys in a loop: every read is
    /// the controller's whole local path (line lookup, lease check, LRU touch, completion).
    static func embedded(_ s: Settings) -> [String: Any] {
        var settings = CacheSettings()
        settings.maxBytes = max(settings.maxBytes, s.keys * (s.valueBytes + 128))
        let homeID = CacheNodeID(1_000), nodeID = CacheNodeID(1)
        var home = HomeDirectory(node: homeID, epoch: 1, settings: settings, takeover: false, at: .zero)
        var controller = CacheController(node: nodeID, incarnation: 1, settings: settings)
        let keys = (0..<s.keys).map { CacheKey("zipf-\($0 + 1)") }
        let value = Array(repeating: UInt8(ascii: "x"), count: s.valueBytes)
        let now = Instant.zero + .milliseconds(1)
        var op: UInt64 = 0
        var effects: [CacheEffect] = []
        for key in keys {
            op += 1
            controller.read(key, op: ClientOpID(op), home: homeID, at: now, into: &effects)
            var toHome: [CacheMessage] = effects.compactMap { if case let .send(m, _) = $0 { m } else { nil } }
            effects.removeAll()
            while !toHome.isEmpty {
                var homeEffects: [HomeEffect] = []
                for m in toHome { home.receive(m, from: nodeID, at: now, into: &homeEffects) }
                toHome = []
                var i = 0
                while i < homeEffects.count {
                    switch homeEffects[i] {
                    case let .send(m, _): controller.receive(m, from: homeID, at: now, into: &effects)
                    case let .load(k): home.loaded(k, value: value, version: 1, at: now, into: &homeEffects)
                    case .writeThrough: break
                    }
                    i += 1
                }
                toHome = effects.compactMap { if case let .send(m, _) = $0 { m } else { nil } }
                effects.removeAll()
            }
        }
        let copies = keys.filter { controller.readableValue(of: $0, at: now) != nil }.count
        let zipf = ZipfKeys(count: s.keys, exponent: s.zipf)
        var rng = SeededRandom(seed: 7)
        let order = (0..<(1 << 16)).map { _ in zipf.draw(&rng) - 1 }
        let hitsBefore = controller.metrics.hits
        let clock = ContinuousClock()
        var reads = 0
        var sink = 0
        let cpuStarted = ThreadCPUTime.seconds()
        let started = clock.now
        let budget = Duration.nanoseconds(max(s.duration.nanoseconds / 5, 1_000_000_000))
        effects.reserveCapacity(4)
        repeat {
            for i in 0..<order.count {
                op &+= 1
                controller.read(keys[order[i]], op: ClientOpID(op), home: homeID, at: now, into: &effects)
                if case let .complete(_, .value(v?))? = effects.first { sink &+= v.count }
                effects.removeAll(keepingCapacity: true)
            }
            reads += order.count
        } while clock.now - started < budget
        let elapsed = clock.now - started
        let cpuSeconds = ThreadCPUTime.seconds() - cpuStarted
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let hits = controller.metrics.hits - hitsBefore
        let mirror = mirrorReads(s, keys: keys, value: value, order: order, budget: budget)
        return [
            "system": "chorus-embedded", "keys": s.keys, "copies": copies, "zipf": s.zipf, "reads": reads,
            "hits": Int(hits), "hits_per_s": Int(Double(hits) / seconds), "seconds": (seconds * 1000).rounded() / 1000,
            "hits_per_cpu_s": Int(Double(hits) / max(cpuSeconds, 1e-9)),
            "bytes_read": sink &+ mirror.bytes.bytes &+ mirror.preparedKeys.bytes,
            "mirror_hits": mirror.bytes.hits, "mirror_hits_per_s": mirror.bytes.perSecond,
            "mirror_hits_per_cpu_s": mirror.bytes.perCPUSecond,
            "mirror_prepared_hits_per_s": mirror.preparedKeys.perSecond,
            "mirror_prepared_hits_per_cpu_s": mirror.preparedKeys.perCPUSecond,
        ]
    }
}

extension CacheBenchCommand {
    /// The embedding's function call, `LocalCacheReads.value(of:)` (lock, lookup, clock
    /// reading, lease check), over a mirror holding every key, in the same Zipf order.
    static func mirrorReads(_ s: Settings, keys: [CacheKey], value: [UInt8], order: [Int], budget: Duration)
        -> MirrorReadFigures {
        let reads = LocalCacheReads()
        let until = MonotonicClock.now() + .seconds(3_600)
        reads.apply(keys.map { LocalCopyChange(key: $0, copy: LocalCopy(value: value, readableUntil: until)) })
        // Fresh byte arrays, not the mirror's own: a real caller's key is never the same buffer.
        let keyBytes = keys.map { Array($0.bytes) }
        let prepared = keyBytes.map(CacheKey.init)
        return MirrorReadFigures(
            bytes: timedReads(reads, order: order, budget: budget) { reads.value(of: keyBytes[$0]) },
            preparedKeys: timedReads(reads, order: order, budget: budget) { reads.value(of: prepared[$0]) })
    }

    /// Reads `read(order[i])` in a loop for `budget`, handing the hits back every pass as
    /// the node's tick would.
    static func timedReads(_ reads: LocalCacheReads, order: [Int], budget: Duration, _ read: (Int) -> [UInt8]??) -> MirrorReadRate {
        let clock = ContinuousClock()
        var hits = 0, bytes = 0
        let cpuStarted = ThreadCPUTime.seconds()
        let started = clock.now
        repeat {
            for i in 0..<order.count {
                if case let .some(v?) = read(order[i]) { hits &+= 1; bytes &+= v.count }
            }
            _ = reads.takeServed()
        } while clock.now - started < budget
        let elapsed = clock.now - started
        return MirrorReadRate(hits: hits, bytes: bytes,
                              seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                              cpuSeconds: ThreadCPUTime.seconds() - cpuStarted)
    }
}

/// Hits of the embedding's call in one run: keys given as bytes, and as prepared `CacheKey`s.
struct MirrorReadFigures {
    let bytes: MirrorReadRate
    let preparedKeys: MirrorReadRate
}

struct MirrorReadRate {
    let hits: Int
    let bytes: Int
    let seconds: Double
    let cpuSeconds: Double
    var perSecond: Int { Int(Double(hits) / max(seconds, 1e-9)) }
    var perCPUSecond: Int { Int(Double(hits) / max(cpuSeconds, 1e-9)) }
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): a one-core rate that other
/// processes on a busy machine do not dilute.
enum ThreadCPUTime {
    static func seconds() -> Double {
        var ts = timespec()
        _ = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Ranks 1...count drawn by Zipf's law (P(rank k) ∝ 1/k^s) from a precomputed cumulative
/// table. Invariant: `cumulative` is non-decreasing and ends at 1.
struct ZipfKeys: Sendable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var c: [Double] = []
        c.reserveCapacity(count)
        var sum = 0.0
        for k in 1...max(1, count) { sum += 1 / pow(Double(k), exponent); c.append(sum) }
        cumulative = c.map { $0 / sum }
    }

    /// A rank in 1...count.
    func draw(_ rng: inout SeededRandom) -> Int {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo + 1
    }
}
