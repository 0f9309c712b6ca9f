import ChorusBase
import ChorusWire
import Glibc

/// A closed-loop write load for `chorus bench raft`: `clients` requests in flight in total,
/// each new request sent only when an earlier one is answered (so the load adapts to the
/// server), run on one `EventLoop` thread. Two targets speak different protocols:
///
/// - `.chorus`: `RaftClientProtocol` puts, pipelined over at most `connections` connections (a
///   client's request waits for its own response; several clients share a connection, and
///   those answered in one frame send their next puts in one write).
/// - `.etcdHTTP`: etcd's v3 JSON gateway, `POST /v3/kv/put` with base64 key and value, one
///   keep-alive HTTP/1.1 connection per client (HTTP/1.1 has no useful pipelining).
///
/// Invariant: only successful puts are counted and timed; every failure (refusal, non-200,
/// broken connection) is counted in `errors` and the client tries again.
public final class RaftBenchLoad: @unchecked Sendable {
    public enum Target: Sendable { case chorus(Endpoint), etcdHTTP(Endpoint) }

    public struct Result: Sendable {
        public var committed = 0
        public var errors = 0
        public var seconds = 0.0
        /// Latencies of the committed puts, sorted, in nanoseconds.
        public var latencies: [Int64] = []
        public var perSecond: Double { seconds > 0 ? Double(committed) / seconds : 0 }
        public func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            let rank = max(0, min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1))
            return Double(latencies[rank]) / 1e6
        }
    }

    let target: Target
    let clients: Int
    let valueBytes: Int
    let connections: Int
    let loop: EventLoop
    private var measuring = false
    private var stopped = false
    private var result = Result()
    private var keyCounter: UInt64 = 0

    /// `connections` bounds the chorus target's connections (the clients share them).
    public init(target: Target, clients: Int, valueBytes: Int, connections: Int = 32) throws {
        self.target = target
        self.connections = max(1, connections)
        self.clients = clients
        self.valueBytes = valueBytes
        self.loop = try EventLoop()
    }

    /// Runs `warmup` seconds unmeasured, then `duration` seconds measured; blocks until done.
    public func run(warmup: Double, duration: Double) throws -> Result {
        switch target {
        case let .chorus(endpoint):
            let connections = min(clients, self.connections)
            for c in 0..<connections {
                let share = clients / connections + (c < clients % connections ? 1 : 0)
                startChorus(endpoint, outstanding: share, connection: c)
            }
        case let .etcdHTTP(endpoint):
            for _ in 0..<clients { startEtcd(endpoint) }
        }
        try loop.start()
        usleep(UInt32(warmup * 1e6))
        let began = MonotonicClock.now()
        loop.execute { [self] in self.result = Result(); self.measuring = true }
        usleep(UInt32(duration * 1e6))
        loop.execute { [self] in self.measuring = false; self.stopped = true }
        let ended = MonotonicClock.now()
        usleep(20_000)
        loop.stop()
        var r = result
        r.seconds = (ended - began).seconds
        r.latencies.sort()
        return r
    }

    private func nextKey() -> [UInt8] {
        keyCounter &+= 1
        return Array("bench-\(keyCounter % 10_000)".utf8)
    }

    private func record(_ sent: Instant) {
        guard measuring else { return }
        result.committed += 1
        result.latencies.append((MonotonicClock.now() - sent).nanoseconds)
    }

    private func failure() { if measuring { result.errors += 1 } }

    // MARK: chorus

    private func startChorus(_ endpoint: Endpoint, outstanding: Int, connection index: Int) {
        var settings = TCPSettings()
        settings.idleTimeout = nil
        let connection = TCPConnection.connect(to: endpoint, on: loop, settings: settings)
        var sentAt = [Instant](repeating: .zero, count: outstanding)
        let value = [UInt8](repeating: 0x61, count: valueBytes)
        var nextID: UInt64 = 0
        // The clients sharing a connection write together, as a multiplexing client library
        // does: the requests answered in one frame are replaced in one write.
        var batch: [[UInt8]] = []
        func queue(slot: Int) {
            guard !stopped else { return }
            sentAt[slot] = MonotonicClock.now()
            nextID &+= 1
            let id = nextID << 16 | UInt64(slot)
            batch.append(RaftClientProtocol.encode(.init(id: id, op: .put, key: nextKey(), value: value)))
        }
        func flush() {
            guard !batch.isEmpty else { return }
            _ = try? connection.send(frames: batch)
            batch.removeAll(keepingCapacity: true)
        }
        connection.onConnect = { for slot in 0..<outstanding { queue(slot: slot) }; flush() }
        connection.onFrame = { [self] frame in
            guard let responses = try? RaftClientProtocol.decodeResponses(frame) else { self.failure(); return }
            for r in responses {
                let slot = Int(r.id & 0xFFFF)
                guard slot < outstanding else { continue }
                if r.status == .ok { self.record(sentAt[slot]) } else { self.failure() }
                queue(slot: slot)
            }
            flush()
        }
        connection.onClose = { [self] reason in
            if !self.stopped { Log.standardError("bench: connection \(index) to \(endpoint) closed: \(reason)") }
        }
    }

    // MARK: etcd

    private func startEtcd(_ endpoint: Endpoint) {
        let channel = StreamChannel(connectingTo: endpoint, loop: loop, maxIncomingBytes: 1 << 20, maxOutgoingBytes: 1 << 20)
        var sentAt = Instant.zero
        let value = Base64.encode([UInt8](repeating: 0x61, count: valueBytes))
        func send() {
            guard !stopped else { return }
            let body = "{\"key\":\"\(Base64.encode(nextKey()))\",\"value\":\"\(value)\"}"
            let request = "POST /v3/kv/put HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            sentAt = MonotonicClock.now()
            channel.write(Array(request.utf8))
        }
        channel.onConnected = { channel.disableNagle(); send() }
        channel.onBytes = { [self] in
            while let (status, consumed) = HTTPResponseScanner.scan(channel.incoming.bytes) {
                channel.incoming.consume(consumed)
                if status == 200 { self.record(sentAt) } else { self.failure() }
                send()
            }
            channel.updateInterest()
        }
        channel.onClosed = { [self] cause in
            if !self.stopped { Log.standardError("bench: etcd connection to \(endpoint) closed: \(cause)") }
        }
    }
}

/// Finds one complete HTTP/1.1 response (Content-Length or chunked) at the start of `bytes`.
enum HTTPResponseScanner {
    static func scan(_ bytes: ArraySlice<UInt8>) -> (status: Int, consumed: Int)? {
        let start = bytes.startIndex
        guard let headerEnd = find(bytes, [13, 10, 13, 10], from: start) else { return nil }
        let head = String(decoding: bytes[start..<headerEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: " ")
        let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        var length: Int?
        var chunked = false
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters()) }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        var i = headerEnd + 4
        if chunked {
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: i) else { return nil }
                let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else { return (0, bytes.endIndex - start) }
                i = lineEnd + 2 + size + 2
                guard i <= bytes.endIndex else { return nil }
                if size == 0 { return (status, i - start) }
            }
        }
        let total = i + (length ?? 0)
        guard total <= bytes.endIndex else { return nil }
        return (status, total - start)
    }

    private static func find(_ bytes: ArraySlice<UInt8>, _ needle: [UInt8], from: Int) -> Int? {
        guard bytes.endIndex - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= bytes.endIndex {
            if bytes[i] == needle[0] {
                var match = true
                for j in 1..<needle.count where bytes[i + j] != needle[j] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}

private extension StringProtocol {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
    }
}

/// Standard base64 (RFC 4648) with padding.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
