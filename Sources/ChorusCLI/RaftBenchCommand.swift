import Foundation
import ChorusBase
import ChorusRuntime

/// `chorus bench raft`: closed-loop write throughput and commit latency of a 3-node group
/// (a chorus group, or etcd through its JSON gateway with --etcd), for several client
/// counts, and the time from `kill -9` of the leader until a new leader commits a write.
/// Invariant: only acknowledged (committed and applied) writes are counted.
enum RaftBenchCommand {
    static let spec = CommandSpec(
        name: "bench raft",
        summary: "Measure committed writes/s and commit latency of a running 3-node group; optionally leader failover.",
        usage: "chorus bench raft --targets HOST:PORT,HOST:PORT,HOST:PORT [options]",
        options: [
            .init("--targets", value: "HOST:PORT,...", help: "Client addresses of the members, in id order (member i is the i-th)."),
            .init("--etcd", help: "The targets are etcd client URLs (host:port); use the v3 JSON gateway."),
            .init("--clients", value: "C,C,...", help: "Concurrent clients (requests in flight).", default: "1,8,32,128"),
            .init("--connections", value: "N", help: "Connections the chorus clients share (pipelined).", default: "one per 10 clients"),
            .init("--duration", value: "S", help: "Measured seconds per client count.", default: "10"),
            .init("--warmup", value: "S", help: "Unmeasured seconds before each measurement.", default: "1"),
            .init("--value-bytes", value: "B", help: "Value size of each put (keys are ~10 bytes).", default: "16"),
            .init("--failover-trials", value: "N", help: "Kill -9 the leader N times; needs --pid-files.", default: "0"),
            .init("--pid-files", value: "F,F,...", help: "Files holding each member's pid (a supervisor restarts it).", default: ""),
            .init("--settle", value: "S", help: "Seconds to wait after all members answer, between failover trials.", default: "2"),
            .init("--json", help: "Print exactly one JSON object."),
        ],
        details: """
            Each client sends a put, waits for its answer, and sends the next (closed loop). chorus
            clients share --connections pipelined connections (by default one per 10 clients, the
            ratio of etcd's own benchmark tool in its performance guide), and the clients of one
            connection whose answers arrive together send their next puts in one write (as a
            client library multiplexing requests over a connection does); etcd clients use one keep-alive HTTP
            connection each. Failover: the leader's pid is read from its pid file and sent SIGKILL;
            from then on a put is started every 10 ms against the surviving members until one
            succeeds. The time is from the kill to that success.
            """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard let targetsText = p.string("--targets") else { throw UsageError("--targets is required") }
        let targets = try targetsText.split(separator: ",").map { item throws(UsageError) -> Endpoint in
            guard let e = Endpoint(parsing: String(item)) else { throw UsageError("--targets: bad address \"\(item)\"") }
            return e
        }
        let etcd = p.flag("--etcd")
        let clientCounts = try (p.string("--clients") ?? "1,8,32,128").split(separator: ",").map { item throws(UsageError) -> Int in
            guard let n = Int(item), (1...4096).contains(n) else { throw UsageError("--clients: bad count \"\(item)\"") }
            return n
        }
        let connectionCount = try p.int("--connections")
        if let n = connectionCount, !(1...1024).contains(n) { throw UsageError("--connections must be in 1...1024, got \(n)") }
        let duration = try p.double("--duration") ?? 10
        let warmup = try p.double("--warmup") ?? 1
        let valueBytes = try p.int("--value-bytes") ?? 16
        let trials = try p.int("--failover-trials") ?? 0
        let settle = try p.double("--settle") ?? 2
        let pidFiles = (p.string("--pid-files") ?? "").split(separator: ",").map(String.init)
        if trials > 0 && pidFiles.count != targets.count { throw UsageError("--failover-trials needs one --pid-files entry per target") }
        let json = p.flag("--json")
        let system = etcd ? "etcd" : "chorus"

        var rows: [[String: Any]] = []
        if duration > 0 {
            for c in clientCounts {
                guard let leader = waitForLeader(targets, etcd: etcd, timeout: 30) else { throw CommandFailure("no leader among \(targets)") }
                let endpoint = targets[leader]
                let load = try RaftBenchLoad(target: etcd ? .etcdHTTP(endpoint) : .chorus(endpoint), clients: c, valueBytes: valueBytes,
                                         connections: connectionCount ?? (c + 9) / 10)
                let r = try load.run(warmup: warmup, duration: duration)
                rows.append(["system": system, "clients": c, "committed_per_second": r.perSecond.rounded(),
                             "p50_ms": round3(r.percentile(0.5)), "p99_ms": round3(r.percentile(0.99)),
                             "committed": r.committed, "errors": r.errors, "seconds": round3(r.seconds)])
                if !json {
                    print(String(format: "%@ clients=%4d  %9.0f committed/s  p50 %7.3f ms  p99 %7.3f ms  (errors %d)",
                                 system, c, r.perSecond, r.percentile(0.5), r.percentile(0.99), r.errors))
                }
            }
        }
        var failover: [String: Any] = [:]
        if trials > 0 {
            var times: [Double] = []
            for t in 1...trials {
                guard let ms = try failoverTrial(targets, pidFiles: pidFiles, etcd: etcd, settle: settle, valueBytes: valueBytes) else {
                    throw CommandFailure("failover trial \(t): no write succeeded within 30 s")
                }
                times.append(ms)
                if !json { print(String(format: "%@ failover trial %2d: %8.1f ms", system, t, ms)) }
            }
            let sorted = times.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            failover = ["trials": trials, "median_ms": round3(median), "worst_ms": round3(sorted.last!), "best_ms": round3(sorted.first!),
                        "all_ms": times.map(round3)]
            if !json { print(String(format: "%@ failover: median %.1f ms, worst %.1f ms over %d trials", system, median, sorted.last!, trials)) }
        }
        if json {
            var object: [String: Any] = ["system": system, "value_bytes": valueBytes, "duration_s": duration, "runs": rows]
            if trials > 0 { object["failover"] = failover }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
        return 0
    }

    static func round3(_ x: Double) -> Double { x.isFinite ? (x * 1000).rounded() / 1000 : 0 }

    /// The index of the leader among `targets`, or nil.
    static func findLeader(_ targets: [Endpoint], etcd: Bool) -> Int? {
        if etcd {
            for (i, t) in targets.enumerated() {
                guard let r = RaftProbe.httpPost(t, path: "/v3/maintenance/status", body: "{}", timeout: .milliseconds(500)), r.status == 200,
                      let object = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
                      let header = object["header"] as? [String: Any] else { continue }
                let member = "\(header["member_id"] ?? "")", leader = "\(object["leader"] ?? "-")"
                if member == leader { return i }
            }
            return nil
        }
        for (i, t) in targets.enumerated() {
            guard let r = RaftProbe.chorus(t, .init(id: 1, op: .status), timeout: .milliseconds(500)),
                  let s = try? RaftClientProtocol.decodeStatus(r.value) else { continue }
            if s.isLeader { return i }
        }
        return nil
    }

    static func waitForLeader(_ targets: [Endpoint], etcd: Bool, timeout: Double) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let i = findLeader(targets, etcd: etcd) { return i }
            usleep(50_000)
        }
        return nil
    }

    static func allAnswer(_ targets: [Endpoint], etcd: Bool) -> Bool {
        targets.allSatisfy { t in
            if etcd { return RaftProbe.httpPost(t, path: "/v3/maintenance/status", body: "{}", timeout: .milliseconds(500))?.status == 200 }
            return RaftProbe.chorus(t, .init(id: 1, op: .status), timeout: .milliseconds(500)) != nil
        }
    }

    /// One put against `target`; true once it is committed.
    static func put(_ target: Endpoint, etcd: Bool, key: String, valueBytes: Int, timeout: Interval) -> Bool {
        let value = [UInt8](repeating: 0x62, count: valueBytes)
        if etcd {
            let body = "{\"key\":\"\(Base64.encode(Array(key.utf8)))\",\"value\":\"\(Base64.encode(value))\"}"
            return RaftProbe.httpPost(target, path: "/v3/kv/put", body: body, timeout: timeout)?.status == 200
        }
        return RaftProbe.chorus(target, .init(id: 7, op: .put, key: Array(key.utf8), value: value), timeout: timeout)?.status == .ok
    }

    final class FirstSuccess: @unchecked Sendable {
        let lock = NSLock()
        var at: Date?
        func mark() { lock.lock(); if at == nil { at = Date() }; lock.unlock() }
        var value: Date? { lock.lock(); defer { lock.unlock() }; return at }
    }

    /// Kills the leader and times the first committed put after it; nil after 30 s.
    static func failoverTrial(_ targets: [Endpoint], pidFiles: [String], etcd: Bool, settle: Double, valueBytes: Int) throws -> Double? {
        let deadline = Date().addingTimeInterval(60)
        while !allAnswer(targets, etcd: etcd) {
            guard Date() < deadline else { throw CommandFailure("not every member answers") }
            usleep(100_000)
        }
        usleep(UInt32(settle * 1e6))
        guard let leader = waitForLeader(targets, etcd: etcd, timeout: 30) else { throw CommandFailure("no leader") }
        // A write must work before the kill, or the measurement would include a cold start.
        guard put(targets[leader], etcd: etcd, key: "failover-pre", valueBytes: valueBytes, timeout: .seconds(5)) else {
            throw CommandFailure("the leader refused a write before the kill")
        }
        let text = try String(contentsOfFile: pidFiles[leader], encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 1 else { throw CommandFailure("bad pid in \(pidFiles[leader])") }
        let killed = Date()
        guard kill(pid, SIGKILL) == 0 else { throw CommandFailure("kill -9 \(pid) failed: errno \(errno)") }
        let survivors = targets.indices.filter { $0 != leader }.map { targets[$0] }
        let first = FirstSuccess()
        var attempt = 0
        while first.value == nil && Date().timeIntervalSince(killed) < 30 {
            let target = survivors[attempt % survivors.count]
            attempt += 1
            let key = "failover-\(attempt)"
            Thread.detachNewThread {
                if put(target, etcd: etcd, key: key, valueBytes: valueBytes, timeout: .seconds(3)) { first.mark() }
            }
            usleep(10_000)
        }
        guard let at = first.value else { return nil }
        return at.timeIntervalSince(killed) * 1000
    }
}
