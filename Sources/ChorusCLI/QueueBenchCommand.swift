import Foundation
import Synchronization
import ChorusBase
import ChorusRuntime
import ChorusSim

/// `chorus bench queue`: end-to-end queue throughput and latency against a running chorus
/// cluster. P producer threads publish batches of 100-byte messages with acks (closed loop,
/// one keep-alive connection each, spread over the --api nodes); C consumer threads long-poll
/// and ack everything they get. Each body starts with its publish time, so the end-to-end
/// latency is from the publish call to the ack's answer.
/// Invariant: only messages acked inside the measured window count.
enum QueueBenchCommand {
    static let spec = CommandSpec(
        name: "bench queue",
        summary: "Measure queue publish-with-ack and consume-with-ack msgs/s and latency (end to end).",
        usage: "chorus bench queue [--producers P] [--consumers C] [--batch B] [--duration D] [--api ADDR[,ADDR...]] [--json]",
        options: [
            .init("--producers", value: "P", help: "Producer threads.", default: "4"),
            .init("--consumers", value: "C", help: "Consumer threads.", default: "4"),
            .init("--batch", value: "B", help: "Messages per publish (and at most 10 B per fetch).", default: "10"),
            .init("--partitions", value: "N", help: "Partitions of the queue the bench creates.", default: "8"),
            .init("--duration", value: "D", help: "Measured time.", default: "10s"),
            .init("--api", value: "ADDR[,ADDR...]", help: "Agent API addresses (threads spread over them).", default: AgentClient.defaultAddress),
            .init("--json", help: "Print one JSON object."),
        ])

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        let producers = try p.int("--producers") ?? 4, consumers = try p.int("--consumers") ?? 4
        let batch = try p.int("--batch") ?? 10, partitions = try p.int("--partitions") ?? 8
        guard (1...256).contains(producers), (1...256).contains(consumers), (1...1000).contains(batch) else {
            throw UsageError("--producers and --consumers must be 1...256, --batch 1...1000")
        }
        let duration = try p.string("--duration").map { try LockAcquireCommand.duration("--duration", $0) } ?? .seconds(10)
        let apis = (p.string("--api") ?? ProcessInfo.processInfo.environment["CHORUS_API"] ?? AgentClient.defaultAddress)
            .split(separator: ",").map(String.init)
        let queue = "bench-\(UInt32.random(in: 0 ... .max))"
        let created = try AgentClient(address: apis[0]).call(.post, "/v1/queues",
                                                            json: ["name": queue, "partitions": partitions, "visibility_timeout_ms": 30_000])
        _ = created
        let clock = ContinuousClock()
        let t0 = clock.now
        @Sendable func nowNanos() -> Int64 { let d = clock.now - t0; return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000 }
        let measureFrom = Int64(1_000_000_000), measureTo = measureFrom + duration.nanoseconds
        struct Stats { var publishLatency: [Double] = []; var endToEnd: [Double] = []; var acked = 0; var published = 0; var errors = 0 }
        let stats = Mutex(Stats())
        let stop = Atomic<Bool>(false)
        var threads: [Thread] = []
        for i in 0..<producers {
            threads.append(Thread {
                let c = HTTPClientConnection(apis[i % apis.count], peerName: "agent")
                var n = 0
                while !stop.load(ordering: .relaxed) {
                    let sent = nowNanos()
                    var msgs: [String] = []
                    for _ in 0..<batch {
                        var body = "\(sent) p\(i) \(n)"
                        n += 1
                        body += String(repeating: "x", count: max(0, 100 - body.utf8.count))
                        msgs.append("{\"body\":\"\(body)\"}")
                    }
                    let json = "{\"messages\":[" + msgs.joined(separator: ",") + "]}"
                    let ok = (try? c.request(method: .post, path: "/v1/queues/\(queue)/messages", body: Array(json.utf8), timeout: .seconds(10)))?.status == 200
                    let done = nowNanos()
                    stats.withLock { s in
                        if !ok { s.errors += 1; return }
                        if sent >= measureFrom && done <= measureTo { s.publishLatency.append(Double(done - sent) / 1e6); s.published += batch }
                    }
                }
            })
        }
        for i in 0..<consumers {
            threads.append(Thread {
                let c = HTTPClientConnection(apis[(i + 1) % apis.count], peerName: "agent")
                let fetch = Array("{\"consumer\":\"c\(i)\",\"max_messages\":\(min(1000, batch * 10)),\"wait_ms\":200}".utf8)
                while !stop.load(ordering: .relaxed) {
                    guard let r = try? c.request(method: .post, path: "/v1/queues/\(queue)/fetch", body: fetch, timeout: .seconds(10)), r.status == 200,
                          let obj = (try? JSONValue.parse(r.body))?.objectValue, let list = obj["messages"]?.arrayValue else {
                        stats.withLock { $0.errors += 1 }
                        continue
                    }
                    if list.isEmpty { continue }
                    var receipts: [String] = [], sentAt: [Int64] = []
                    for m in list {
                        guard let o = m.objectValue, let rc = o["receipt"]?.stringValue, let b = o["body"]?.stringValue else { continue }
                        receipts.append("\"\(rc)\"")
                        sentAt.append(Int64(b.split(separator: " ").first ?? "") ?? 0)
                    }
                    let ack = Array("{\"receipts\":[\(receipts.joined(separator: ","))]}".utf8)
                    let ok = (try? c.request(method: .post, path: "/v1/queues/\(queue)/ack", body: ack, timeout: .seconds(10)))?.status == 200
                    let done = nowNanos()
                    stats.withLock { s in
                        guard ok, done >= measureFrom, done <= measureTo else { return }
                        s.acked += sentAt.count
                        for t in sentAt { s.endToEnd.append(Double(done - t) / 1e6) }
                    }
                }
            })
        }
        for t in threads { t.start() }
        Thread.sleep(forTimeInterval: Double(measureTo) / 1e9 + 0.2)
        stop.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.5)
        let s = stats.withLock { $0 }
        let seconds = Double(duration.nanoseconds) / 1e9
        let pub = Percentiles(s.publishLatency), e2e = Percentiles(s.endToEnd)
        func r3(_ x: Double?) -> Double { ((x ?? 0) * 1000).rounded() / 1000 }
        let result: [String: Any] = [
            "system": "chorus", "producers": producers, "consumers": consumers, "batch": batch, "partitions": partitions,
            "published_per_s": Int(Double(s.published) / seconds), "consumed_per_s": Int(Double(s.acked) / seconds),
            "publish_p50_ms": r3(pub?.p50), "publish_p99_ms": r3(pub?.p99), "end_to_end_p50_ms": r3(e2e?.p50), "end_to_end_p99_ms": r3(e2e?.p99),
            "errors": s.errors,
        ]
        if p.flag("--json") {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("chorus queue P=\(producers) C=\(consumers) batch \(batch): published \(result["published_per_s"]!) msg/s, consumed \(result["consumed_per_s"]!) msg/s, publish p50 \(r3(pub?.p50)) ms p99 \(r3(pub?.p99)) ms, end-to-end p50 \(r3(e2e?.p50)) ms p99 \(r3(e2e?.p99)) ms, \(s.errors) errors")
        }
        return 0
    }
}
