import ChorusBase
import ChorusSeal
import Foundation
import Testing
@testable import ChorusRuntime

/// Sealed gossip and peer streams between real agents on loopback: a cluster with one key
/// converges, a node with a wrong key is refused and logged and never merged, keys rotate
/// online with no member lost, and a plaintext cluster moves to encryption node by node.
@Suite(.serialized) struct SealedTransportTests {
    static let k1 = SealKey(bytes: Array(repeating: 0x11, count: 32))!
    static let k2 = SealKey(bytes: Array(repeating: 0x22, count: 32))!

    static func agent(_ name: String, keys: [SealKey], mode: SealMode = .required) throws -> TestAgent {
        try TestAgent(name: name) { s in
            s.keyring = (try? Keyring(keys: keys)) ?? Keyring()
            s.sealMode = mode
        }
    }

    static func join(_ node: TestAgent, _ seed: TestAgent) throws {
        _ = try node.request(.post, "/v1/join", body: #"{"addresses": ["\#(seed.gossip)"]}"#)
    }

    static func allAlive(_ nodes: [TestAgent]) -> Bool {
        nodes.allSatisfy { n in n.members().filter { $0.status == "alive" }.count == nodes.count }
    }

    @Test func wrongKey_isRefusedLoggedAndNeverMerged() throws {
        let a = try Self.agent("a", keys: [Self.k1]), b = try Self.agent("b", keys: [Self.k1])
        let intruder = try Self.agent("x", keys: [Self.k2])
        let plain = try Self.agent("p", keys: [])
        defer { a.stop(); b.stop(); intruder.stop(); plain.stop() }
        try Self.join(b, a)
        #expect(eventually(timeout: 5) { Self.allAlive([a, b]) })
        try Self.join(intruder, a)
        try Self.join(plain, a)
        Thread.sleep(forTimeInterval: 1)
        #expect(a.members().map(\.name).sorted() == ["a", "b"])
        #expect(intruder.members().map(\.name) == ["x"])
        #expect(plain.members().map(\.name) == ["p"])
        #expect(a.lines.all.contains { $0.contains("refused a message from a peer") && $0.contains("no installed key opens") })
        #expect(a.lines.all.contains { $0.contains("plaintext message refused") })
        let metrics = try a.request("/metrics").bodyText ?? ""
        #expect(!metrics.contains("chorus_seal_refused_total{reason=\"no_key_opens\"} 0"))
        #expect(metrics.contains("chorus_seal_refused_total{reason=\"no_key_opens\"}"))
    }

    @Test func rotation_online_losesNoMember() throws {
        let nodes = try ["a", "b", "c"].map { try Self.agent($0, keys: [Self.k1]) }
        defer { nodes.forEach { $0.stop() } }
        try Self.join(nodes[1], nodes[0]); try Self.join(nodes[2], nodes[0])
        #expect(eventually(timeout: 5) { Self.allAlive(nodes) })
        for step in [("install", Self.k2), ("use", Self.k2), ("remove", Self.k1)] {
            for n in nodes {
                let r = try n.request(.post, "/v1/keys/\(step.0)", body: #"{"key": "\#(step.1.hex)"}"#)
                #expect(r.status == 200, "\(step.0) on \(n.agent.settings.name)")
                #expect(Self.allAlive(nodes), "a member was lost during \(step.0)")
            }
            Thread.sleep(forTimeInterval: 0.5)
            #expect(Self.allAlive(nodes), "a member was lost after \(step.0)")
        }
        let listing = try nodes[0].request("/v1/keys").bodyText ?? ""
        #expect(listing.contains(Self.k2.id) && !listing.contains(Self.k1.id))
        #expect(try nodes[0].request(.post, "/v1/keys/remove", body: #"{"key": "\#(Self.k2.hex)"}"#).status == 409, "the primary stays")
        // Probes keep succeeding under the new key.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(Self.allAlive(nodes))
    }

    @Test func plaintextCluster_movesToEncryption_nodeByNode() throws {
        let nodes = try ["a", "b", "c"].map { try Self.agent($0, keys: [Self.k1], mode: .open) }
        defer { nodes.forEach { $0.stop() } }
        try Self.join(nodes[1], nodes[0]); try Self.join(nodes[2], nodes[0])
        #expect(eventually(timeout: 5) { Self.allAlive(nodes) })
        for mode in ["accept_plaintext", "required"] {
            for n in nodes {
                #expect(try n.request(.put, "/v1/keys/mode", body: #"{"mode": "\#(mode)"}"#).status == 200)
                Thread.sleep(forTimeInterval: 0.3)
                #expect(Self.allAlive(nodes), "a member was lost moving to \(mode)")
            }
        }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(Self.allAlive(nodes))
        #expect(try nodes[0].request("/v1/keys").bodyText?.contains(#""mode":"required""#) == true)
    }
}
