import ChorusRing
import ChorusRuntime
import Foundation
import Glibc
import Synchronization
import Testing

/// The lock service on real agents: the API end to end, deadlocks across shards, expiry, and fencing across a kill -9.
@Suite(.serialized) struct LockProcessTests {

    static func call(_ api: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil,
                     timeout: Double = 15) -> (status: Int, json: [String: Any])? {
        guard let r = try? HTTPClient().request(method: method, api, path: path, body: body.map { Array($0.utf8) },
                                                timeout: .milliseconds(Int64(timeout * 1000))) else { return nil }
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    static func errorCode(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["code"] as? String }

    func threeAgents(_ cluster: Cluster) throws -> [AgentProcess] {
        let first = try cluster.start("l1")
        let nodes = [first, try cluster.start("l2", seeds: [first.gossip]), try cluster.start("l3", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(nodes[2].api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return views.count == 64 && views.allSatisfy { $0.leader != nil && $0.replicas.count == 3 && $0.learners.isEmpty }
        }, "shards did not settle:\n\(cluster.logs)")
        return nodes
    }

    func session(_ api: String, ttl: Int = 30_000) throws -> String {
        let r = try #require(Self.call(api, .post, "/v1/sessions", #"{"ttl_ms": \#(ttl)}"#))
        #expect(r.status == 200)
        return try #require(r.json["id"] as? String)
    }

    /// `count` lock names, each on a different shard.
    func namesOnDifferentShards(_ count: Int, prefix: String) -> [String] {
        let map = ShardMap(ring: Ring(members: [RingMember(name: "x", status: .alive)]), shardCount: 64, replicationFactor: 3)
        var names: [String] = [], used: Set<ShardID> = []
        var i = 0
        while names.count < count {
            let name = "\(prefix)\(i)"
            if used.insert(map.shard(forKey: name)).inserted { names.append(name) }
            i += 1
        }
        return names
    }

    @Test func api_sessionsLocksAndDeadlocks_acrossShards() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try threeAgents(cluster)
        let api = nodes.map(\.api)

        // Exclusive, try-lock, shared, release, status.
        let s1 = try session(api[0]), s2 = try session(api[1])
        var r = try #require(Self.call(api[2], .post, "/v1/locks/db/acquire", #"{"session":"\#(s1)","request_id":"a1"}"#))
        #expect(r.status == 200 && r.json["mode"] as? String == "exclusive")
        let token1 = try #require(r.json["token"] as? Int)
        r = try #require(Self.call(api[0], .post, "/v1/locks/db/acquire", #"{"session":"\#(s2)","request_id":"b1"}"#))
        #expect(r.status == 409 && Self.errorCode(r.json) == "timeout", "try-lock of a held lock: \(r.status) \(r.json)")
        // A retried request id gets the first answer and changes nothing.
        r = try #require(Self.call(api[1], .post, "/v1/locks/db/acquire", #"{"session":"\#(s1)","request_id":"a1"}"#))
        #expect(r.status == 200 && r.json["token"] as? Int == token1)
        r = try #require(Self.call(api[1], .get, "/v1/locks/db"))
        #expect((r.json["holders"] as? [[String: Any]])?.first?["session"] as? String == s1)
        r = try #require(Self.call(api[1], .post, "/v1/locks/db/release", #"{"session":"\#(s1)"}"#))
        #expect(r.status == 200)
        r = try #require(Self.call(api[2], .post, "/v1/locks/db/acquire", #"{"session":"\#(s2)","mode":"shared"}"#))
        let token2 = try #require(r.json["token"] as? Int)
        #expect(token2 > token1, "fencing tokens grow per lock")
        r = try #require(Self.call(api[0], .post, "/v1/locks/db/acquire", #"{"session":"\#(s1)","mode":"shared"}"#))
        #expect(r.status == 200, "shared with shared")

        // Deadlocks of 2, 3 and 10 sessions whose locks are on different shards: the wait of
        // the session opened last (by log position) fails with `deadlock` within about a
        // second; the others keep waiting.
        for size in [2, 3, 10] {
            // The last wait closes the cycle once the others are queued.
            let closeAfter = size > 3 ? 0.8 : 0.3
            let names = namesOnDifferentShards(size, prefix: "cycle\(size)-")
            var sessions: [String] = []
            for k in 0..<size {
                let s = try session(api[k % 3])
                sessions.append(s)
                let g = try #require(Self.call(api[k % 3], .post, "/v1/locks/\(names[k])/acquire", #"{"session":"\#(s)"}"#))
                #expect(g.status == 200)
            }
            let holders = sessions
            let results = Mutex<[Int: (Int, String?, Double)]>([:])
            let started = Date()
            // A thread of its own per waiter: Dispatch's pool (and concurrentPerform) start
            // blocking work only a few at a time, which would never let the cycle form.
            let group = DispatchGroup()
            for k in 0..<size {
                group.enter()
                Thread {
                    // Session k waits for the lock session k+1 holds; the last closes the cycle.
                    if k == size - 1 { usleep(UInt32(closeAfter * 1_000_000)) }
                    let next = names[(k + 1) % size]
                    let w = Self.call(api[(k + 1) % 3], .post, "/v1/locks/\(next)/acquire",
                                      #"{"session":"\#(holders[k])","wait_ms":4000,"request_id":"w\#(k)"}"#)
                    results.withLock { $0[k] = (w?.status ?? 0, w.flatMap { Self.errorCode($0.json) }, Date().timeIntervalSince(started)) }
                    group.leave()
                }.start()
            }
            group.wait()
            let outcome = results.withLock { $0 }
            let victims = outcome.filter { $0.value.1 == "deadlock" }
            #expect(victims.count == 1, "\(size)-cycle: \(outcome)")
            // The victim is the session that opened last by log position: the greatest
            // (index, home) of its id "<home>-<index>-<ms>" — never decided by wall clocks.
            let logOrder = sessions.map { id -> (UInt64, UInt64) in
                let parts = id.split(separator: "-").compactMap { UInt64($0) }
                return parts.count == 3 ? (parts[1], parts[0]) : (0, 0)
            }
            let expected = logOrder.indices.max { logOrder[$0] < logOrder[$1] }
            #expect(victims.first?.key == expected, "the session opened last by log position is the victim: \(outcome) \(sessions)")
            // The 1 s bound is checked in the detector's simulated tests and measured in
            // docs/performance.md; on a loaded CI machine with debug builds allow slack.
            if let v = victims.first { #expect(v.value.2 < closeAfter + 3.0, "found soon after the cycle formed: \(v.value.2) s") }
        }

        // A session that is not kept alive expires: its locks are released on their shards.
        let short = try session(api[0], ttl: 1_500)
        let lockName = namesOnDifferentShards(1, prefix: "expiring-")[0]
        r = try #require(Self.call(api[1], .post, "/v1/locks/\(lockName)/acquire", #"{"session":"\#(short)"}"#))
        #expect(r.status == 200)
        let waiter = try session(api[2])
        r = try #require(Self.call(api[2], .post, "/v1/locks/\(lockName)/acquire", #"{"session":"\#(waiter)","wait_ms":6000}"#))
        #expect(r.status == 200, "granted once the holder's session expired: \(r.json)")
        r = try #require(Self.call(api[0], .post, "/v1/sessions/\(short)/keepalive"))
        #expect(r.status == 404 && Self.errorCode(r.json) == "session_expired")
    }

    /// Many clients increment a counter kept in a file, under the lock, writing only with a
    /// fencing token above the last one written; the leader of the lock's shard is killed with
    /// `kill -9` mid-run. No increment is lost and service resumes within 2 s.
    @Test func fencedCounter_survivesKillNineOfTheLocksLeader() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let nodes = try threeAgents(cluster)
        let counterPath = cluster.workDirectory + "/counter"
        try "0 0".write(toFile: counterPath, atomically: true, encoding: .utf8)
        let lock = "counter"
        let shard = ShardMap(ring: Ring(members: [RingMember(name: "x", status: .alive)]), shardCount: 64, replicationFactor: 3)
            .shard(forKey: lock)
        let leaderName = try #require(try HTTPClient().request(nodes[0].api, path: "/v1/shards").decodeJSON([ShardView].self)
            .first { $0.shard == Int(shard.value) }?.leader)
        let victim = try #require(nodes.first { $0.name == leaderName })
        let survivors = nodes.filter { $0 !== victim }.map(\.api)

        let state = Mutex((increments: 0, staleWrites: 0, grants: [Double](), killedAt: 0.0, failures: [String]()))
        let fileLock = NSLock() // the file stands for storage that checks tokens; the lock only guards the read-check-write
        let stop = Atomic<Bool>(false)
        let start = Date()
        let clients = 6
        DispatchQueue.global().async {
            usleep(3_000_000)
            state.withLock { $0.killedAt = Date().timeIntervalSince(start) }
            victim.signal(SIGKILL)
        }
        DispatchQueue.concurrentPerform(iterations: clients) { c in
            var apis = [nodes[c % 3].api] + survivors
            var sessionID: String?
            var attempt = 0
            while !stop.load(ordering: .relaxed) {
                if Date().timeIntervalSince(start) > 9 { stop.store(true, ordering: .relaxed); break }
                let api = apis[attempt % apis.count]
                if sessionID == nil {
                    if let r = Self.call(api, .post, "/v1/sessions", #"{"ttl_ms":10000,"request_id":"c\#(c)-s\#(attempt)"}"#, timeout: 3),
                       r.status == 200 { sessionID = r.json["id"] as? String } else { attempt += 1; continue }
                }
                guard let s = sessionID else { continue }
                let requestID = "c\(c)-\(attempt)"
                guard let r = Self.call(api, .post, "/v1/locks/\(lock)/acquire",
                                        #"{"session":"\#(s)","wait_ms":3000,"request_id":"\#(requestID)"}"#, timeout: 6) else {
                    if apis.count > 1 { apis.removeAll { $0 == api } } // that node is gone; keep the request id
                    continue
                }
                if r.status != 200 {
                    if Self.errorCode(r.json) == "session_expired" { sessionID = nil }
                    attempt += 1
                    continue
                }
                guard let token = r.json["token"] as? Int else { continue }
                state.withLock { $0.grants.append(Date().timeIntervalSince(start)) }
                fileLock.lock()
                let parts = ((try? String(contentsOfFile: counterPath, encoding: .utf8)) ?? "0 0").split(separator: " ").compactMap { Int($0) }
                if parts.count == 2, token > parts[1] {
                    try? "\(parts[0] + 1) \(token)".write(toFile: counterPath, atomically: true, encoding: .utf8)
                    state.withLock { $0.increments += 1 }
                } else {
                    state.withLock { $0.staleWrites += 1 }
                }
                fileLock.unlock()
                var released = false
                for k in 0..<6 where !released {
                    let target = apis[(attempt + k) % apis.count]
                    if let rr = Self.call(target, .post, "/v1/locks/\(lock)/release", #"{"session":"\#(s)","request_id":"rel-\#(requestID)"}"#, timeout: 3),
                       rr.status == 200 || Self.errorCode(rr.json) == "not_held" { released = true }
                }
                attempt += 1
            }
        }
        let result = state.withLock { $0 }
        let parts = try String(contentsOfFile: counterPath, encoding: .utf8).split(separator: " ").compactMap { Int($0) }
        #expect(parts.first == result.increments, "the file counts every increment made under the lock")
        #expect(result.staleWrites == 0, "no client ever held a token at or below one already written")
        #expect(result.increments > 20, "the clients made progress: \(result.increments)")
        // Service resumes within 2 s: the longest gap between grants around the kill.
        let after = result.grants.filter { $0 > result.killedAt }
        let before = result.grants.filter { $0 <= result.killedAt }.max() ?? result.killedAt
        let firstAfter = after.min() ?? .infinity
        #expect(firstAfter - result.killedAt < 2.0, "first grant \(firstAfter - result.killedAt) s after the kill (last before: \(result.killedAt - before) s earlier)\n\(cluster.logs)")
    }
}
