import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Testing

/// The cache's Redis front door on a real agent: pipelined SET, GET, EXISTS, DEL, MSET, MGET,
/// SELECT and INFO over one
/// connection are answered in order with Redis's replies, and an unknown command is a
/// Redis-style error that leaves the connection usable.
@Suite(.serialized) struct RESPProcessTests {
    /// Sends `request` on a fresh loopback connection and reads until `expected` bytes came
    /// (or 20 s passed).
    static func exchange(port: UInt16, _ request: String, expecting count: Int) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while got.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            got += buffer[0..<n]
        }
        return String(decoding: got, as: UTF8.self)
    }

    @Test func pipelinedCommands_getRedisAnswersInOrder() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let resp = try FreePorts.pair().api
        let node = try cluster.start("r1", extra: ["--resp", "127.0.0.1:\(resp)"])
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(node.api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return !views.isEmpty && views.allSatisfy { $0.leader != nil }
        }, "shards did not settle:\n\(cluster.logs)")
        // A new home waits out its predecessor's leases: retry the first write until it is served.
        #expect(waitUntil(timeout: 30) { Self.exchange(port: resp, "SET warm up\r\n", expecting: 5) == "+OK\r\n" }, "\(cluster.logs)")
        let request = "*3\r\n$3\r\nSET\r\n$5\r\ncolor\r\n$4\r\nblue\r\n" + "*2\r\n$3\r\nGET\r\n$5\r\ncolor\r\n"
            + "EXISTS color\r\n" + "FROB x\r\n" + "DEL color\r\n" + "GET color\r\n" + "PING\r\n"
        let expected = "+OK\r\n$4\r\nblue\r\n:1\r\n-ERR unknown command or wrong number of arguments for 'FROB'\r\n:1\r\n$-1\r\n+PONG\r\n"
        let answer = Self.exchange(port: resp, request, expecting: expected.utf8.count)
        #expect(answer == expected, "\(answer.debugDescription)\n\(cluster.logs)")

        let multi = "MSET a 1 b 2\r\n" + "MGET a nope b\r\n" + "EXISTS a b nope\r\n" + "DEL a b nope\r\n" + "SELECT 0\r\n"
            + "SELECT 3\r\n" + "SET a 1 NX\r\n"
        let multiExpected = "+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n:2\r\n:2\r\n+OK\r\n-ERR DB index is out of range\r\n"
            + "-ERR SET NX is not supported by this cache (only EX and PX)\r\n"
        let multiAnswer = Self.exchange(port: resp, multi, expecting: multiExpected.utf8.count)
        #expect(multiAnswer == multiExpected, "\(multiAnswer.debugDescription)")
        let info = Self.exchange(port: resp, "INFO\r\n", expecting: 40)
        #expect(info.hasPrefix("$") && info.contains("keyspace_hits:"), "\(info.debugDescription)")
    }

    /// SET with EX or PX expires the key on the agent (a GET after the TTL answers nil), and
    /// INCR, INCRBY, DECR and DECRBY are answered with Redis's integers and errors.
    @Test func setWithExpiry_expires_andIncrementsAnswerLikeRedis() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let resp = try FreePorts.pair().api
        let node = try cluster.start("r2", extra: ["--resp", "127.0.0.1:\(resp)"])
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(node.api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return !views.isEmpty && views.allSatisfy { $0.leader != nil }
        }, "shards did not settle:\n\(cluster.logs)")
        #expect(waitUntil(timeout: 30) { Self.exchange(port: resp, "SET warm up\r\n", expecting: 5) == "+OK\r\n" }, "\(cluster.logs)")

        let set = "SET brief hello PX 700\r\n" + "GET brief\r\n" + "SET long stays EX 100\r\n" + "SET bad x EX 0\r\n"
            + "SET bad x PX soon\r\n"
        let setExpected = "+OK\r\n$5\r\nhello\r\n+OK\r\n-ERR invalid expire time in 'set' command\r\n"
            + "-ERR value is not an integer or out of range\r\n"
        let setAnswer = Self.exchange(port: resp, set, expecting: setExpected.utf8.count)
        #expect(setAnswer == setExpected, "\(setAnswer.debugDescription)")
        Thread.sleep(forTimeInterval: 1.0)
        let afterExpected = "$-1\r\n$5\r\nstays\r\n:0\r\n"
        let after = Self.exchange(port: resp, "GET brief\r\n" + "GET long\r\n" + "EXISTS brief\r\n", expecting: afterExpected.utf8.count)
        #expect(after == afterExpected, "\(after.debugDescription)")

        let incr = "INCR hits\r\n" + "INCR hits\r\n" + "INCRBY hits 40\r\n" + "DECR hits\r\n" + "DECRBY hits 2\r\n" + "GET hits\r\n"
            + "SET name bob\r\n" + "INCR name\r\n" + "INCRBY hits x\r\n" + "SET top 9223372036854775807\r\n" + "INCR top\r\n"
            + "DECRBY hits -9223372036854775808\r\n" + "GET top\r\n"
        let incrExpected = ":1\r\n:2\r\n:42\r\n:41\r\n:39\r\n$2\r\n39\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
            + "-ERR value is not an integer or out of range\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
            + "-ERR decrement would overflow\r\n$19\r\n9223372036854775807\r\n"
        let incrAnswer = Self.exchange(port: resp, incr, expecting: incrExpected.utf8.count)
        #expect(incrAnswer == incrExpected, "\(incrAnswer.debugDescription)\n\(cluster.logs)")

        // The HTTP door agrees: the counter, a PUT with ttl_ms, and the budget in the stats.
        let http = HTTPClient()
        let bumped = try http.request(method: .post, node.api, path: "/v1/cache/hits/incr?by=3", timeout: .seconds(10))
        #expect(bumped.status == 200 && String(decoding: bumped.body, as: UTF8.self).contains("42"), "\(String(decoding: bumped.body, as: UTF8.self))")
        let stats = try http.request(node.api, path: "/v1/cache", timeout: .seconds(10))
        #expect(String(decoding: stats.body, as: UTF8.self).contains("\"max_bytes\""))
        // The GET right after the SET was answered from this node's copy, the one after the
        // expiry asked the home: both latency histograms have samples.
        let metrics = String(decoding: try http.request(node.api, path: "/metrics", timeout: .seconds(10)).body, as: UTF8.self)
        func count(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect((count("chorus_cache_hit_seconds_count") ?? 0) >= 1, "\(metrics.split(separator: "\n").filter { $0.contains("cache") })")
        #expect((count("chorus_cache_miss_seconds_count") ?? 0) >= 1)
        #expect(count("chorus_cache_messages_per_operation") != nil)
    }
}
