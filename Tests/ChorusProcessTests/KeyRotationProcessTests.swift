import ChorusRuntime
import Foundation
import Testing

/// Three real agents sealing their traffic rotate their key online with `chorus keys`, one
/// node at a time, and lose no member; the rotated keyring is written back to each node's
/// keyring file. A fourth agent with another key is refused and logged, never merged.
@Suite(.serialized) struct KeyRotationProcessTests {
    static let old = String(repeating: "1f", count: 32)
    static let new = String(repeating: "2e", count: 32)
    static let token = "process-test-token-0123456789"

    @Test func threeAgents_rotateTheirKey_withNoLostMember() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        func keyring(_ name: String, _ key: String) throws -> String {
            let path = cluster.workDirectory + "/\(name).keys"
            try (key + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let tokenPath = cluster.workDirectory + "/token"
        try (Self.token + "\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
        func extra(_ name: String, _ key: String) throws -> [String] {
            ["--keyring-file", try keyring(name, key), "--api-token-file", tokenPath]
        }
        let a = try cluster.start("k1", extra: try extra("k1", Self.old))
        let b = try cluster.start("k2", seeds: [a.gossip], extra: try extra("k2", Self.old))
        let c = try cluster.start("k3", seeds: [a.gossip], extra: try extra("k3", Self.old))
        let nodes = [a, b, c]
        func allAlive() -> Bool {
            nodes.allSatisfy { n in
                guard let r = try? runChorus(["members", "--json", "--api", n.api, "--api-token", Self.token], timeout: 5), r.status == 0 else { return false }
                return ["k1", "k2", "k3"].allSatisfy { r.stdout.contains("\"name\":\"\($0)\"") } && !r.stdout.contains("\"status\":\"suspect\"")
                    && !r.stdout.contains("\"status\":\"dead\"")
            }
        }
        #expect(waitUntil(timeout: 10) { allAlive() }, "\(cluster.logs)")
        // Without the token the API refuses (but /health).
        #expect(try runChorus(["members", "--api", a.api]).status == 1)
        #expect(try runChorus(["health", "--api", a.api]).status == 0)

        for (verb, key) in [("install", Self.new), ("use", Self.new), ("remove", Self.old)] {
            for n in nodes {
                let r = try runChorus(["keys", verb, key, "--api", n.api, "--api-token", Self.token])
                #expect(r.status == 0, "keys \(verb) on \(n.name): \(r.stderr)")
            }
            usleep(500_000)
            #expect(allAlive(), "a member was lost after keys \(verb):\n\(cluster.logs)")
        }
        for n in nodes {
            let file = (try? String(contentsOfFile: cluster.workDirectory + "/\(n.name).keys", encoding: .utf8)) ?? ""
            #expect(file.contains(Self.new) && !file.contains(Self.old), "\(n.name)'s keyring file: \(file)")
        }
        // A node holding only the old key cannot join.
        let stranger = try cluster.start("k4", seeds: [a.gossip], extra: try extra("k4", Self.old))
        usleep(2_000_000)
        #expect(a.log.contains("no installed key opens"), "\(a.log)")
        let seen = try runChorus(["members", "--json", "--api", a.api, "--api-token", Self.token]).stdout
        #expect(!seen.contains("\"name\":\"k4\""), "k4 was merged: \(seen)")
        #expect(stranger.isRunning)
        usleep(1_500_000)
        #expect(allAlive(), "\(cluster.logs)")
    }
}
