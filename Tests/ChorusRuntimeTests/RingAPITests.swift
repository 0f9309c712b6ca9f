import ChorusBase
import ChorusMembership
import ChorusRing
import Foundation
import Testing
@testable import ChorusRuntime

/// `GET /v1/ring`: the ring an agent computes from its view (docs/api.md).
@Suite struct RingAPITests {
    static func placement(_ v: Int, _ s: Int, _ r: Int) -> PlacementSettings {
        var p = PlacementSettings()
        p.virtualNodesPerMember = v
        p.shardCount = s
        p.replicationFactor = r
        return p
    }

    func ring(_ node: TestAgent, tokens: Bool = false) throws -> RingView {
        try node.request(tokens ? "/v1/ring?tokens=1" : "/v1/ring").decodeJSON(RingView.self)
    }

    @Test func twoAgents_reportTheSameRing_withSharesSummingToOne() throws {
        let a = try TestAgent(name: "a") { $0.placement = Self.placement(32, 16, 2) }
        let b = try TestAgent(name: "b", seeds: [a.gossip.description]) { $0.placement = Self.placement(32, 16, 2) }
        defer { a.stop(); b.stop() }
        #expect(eventually { a.status(of: "b") == "alive" && b.status(of: "a") == "alive" })

        let view = try ring(a)
        #expect(view.virtualNodesPerMember == 32 && view.shardCount == 16 && view.replicationFactor == 2)
        #expect(view.members.map(\.name) == ["a", "b"])
        #expect(view.members.map(\.address) == [a.gossip.description, b.gossip.description])
        #expect(view.members.allSatisfy { $0.tokens == 32 && $0.tokensList == nil })
        #expect(view.members.allSatisfy { (0...1).contains($0.share) })
        #expect(abs(view.members.map(\.share).reduce(0, +) - 1) < 1e-9)
        #expect(view.members.map(\.shardsPrimary).reduce(0, +) == 16)
        #expect(view.members.allSatisfy { $0.shardsHosted == 16 }) // R=2 on two members: everyone hosts all
        // The same view on both nodes and in this process: the same ring.
        #expect(try ring(b) == view)
        let local = Ring(members: [RingMember(name: "b", status: .alive), RingMember(name: "a", status: .alive)],
                         virtualNodesPerMember: 32)
        #expect(view.digest == local.digestHex)

        // The JSON field names are the documented ones.
        let raw = try #require(try a.request("/v1/ring").decodeJSON(JSONValue.self).objectValue)
        #expect(Set(raw.keys) == ["virtual_nodes_per_member", "shard_count", "replication_factor", "digest", "members"])
        let first = try #require(raw["members"]?.arrayValue?.first?.objectValue)
        #expect(Set(first.keys) == ["name", "address", "tokens", "share", "shards_primary", "shards_hosted"])
    }

    @Test func tokensQuery_listsEveryVirtualNodeInRingOrder() throws {
        let node = try TestAgent(name: "solo") { $0.placement = Self.placement(8, 4, 3) }
        defer { node.stop() }
        let view = try ring(node, tokens: true)
        let member = try #require(view.members.first)
        #expect(member.share == 1 && member.shardsPrimary == 4 && member.shardsHosted == 4)
        let tokens = try #require(member.tokensList)
        #expect(tokens == (0..<8).map { Token.virtualNode(of: "solo", index: $0) }.sorted().map(\.description))
        #expect(try ring(node, tokens: false).members.first?.tokensList == nil)
        let bad = try node.request("/v1/ring?tokens=yes")
        #expect(bad.status == 400 && bad.apiError?.code == "invalid_request")
        #expect(try node.request(.post, "/v1/ring").status == 405)
    }

    @Test func ring_isCachedUntilTheMembersOnItChange_andDrainingLeavesIt() throws {
        let a = try TestAgent(name: "a")
        let b = try TestAgent(name: "b", seeds: [a.gossip.description])
        defer { a.stop(); b.stop() }
        #expect(eventually { a.status(of: "b") == "alive" })
        #expect(try ring(a).members.count == 2)
        let builds = try #require(a.metric("chorus_ring_builds_total"))
        // A tag change that does not drain is a view change but not a ring change.
        #expect(try b.request(.put, "/v1/tags", body: #"{"set": {"zone": "a"}}"#).status == 200)
        #expect(eventually { a.members().first { $0.name == "b" }?.tags["zone"] == "a" })
        for _ in 0..<3 { #expect(try ring(a).members.count == 2) }
        #expect(a.metric("chorus_ring_builds_total") == builds)

        #expect(try b.request(.put, "/v1/tags", body: #"{"set": {"\#(RingMember.drainingTag)": "1"}}"#).status == 200)
        #expect(eventually { (try? ring(a).members.map(\.name)) == ["a"] })
        #expect(a.metric("chorus_ring_builds_total") == builds + 1)
        let alone = try ring(a)
        #expect(alone.members.first?.share == 1 && alone.members.first?.shardsHosted == 64)
        #expect(a.status(of: "b") == "alive") // still a member, only off the ring
        #expect(try ring(b).members.map(\.name) == ["a"])
    }
}
