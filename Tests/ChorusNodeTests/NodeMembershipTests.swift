import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import Testing
@testable import ChorusNode

/// SWIM membership as inputs and effects of one `Node`: the order of its effects, bad bytes,
/// and the view reaching the shard layer without the driver's help.
@Suite struct NodeMembershipTests {
    static let here = Endpoint(ip: IPAddress(ipv4: 0x7F00_0001), port: 7946)
    static let there = Endpoint(ip: IPAddress(ipv4: 0x7F00_0002), port: 7946)
    static let settings = MembershipSettings()
    static func at(_ ms: Int64) -> NodeTime { NodeTime(now: Instant.zero + .milliseconds(ms), wallMillis: 0) }

    private func node(incarnation: Incarnation = 4) throws -> Node {
        let host = try ShardHost<ShardState>(id: NodeID(1), seed: 1, epoch: nil)
        let node = try Node(name: "n1", host: host, settings: NodeSettings(), seed: 1)
        try node.startMembership(MembershipStart(address: Self.here, api: Self.here, incarnation: incarnation,
                                                 settings: Self.settings, seed: 7), at: Self.at(0))
        var effects: [NodeEffect] = []
        node.join(seeds: [], at: Self.at(0), into: &effects)
        return node
    }

    private func ping(from sender: String, carrying updates: [MemberUpdate]) -> [UInt8] {
        PacketCodec.encode(Packet(cluster: Self.settings.cluster, sender: sender, message: .ping(seq: 9, target: "n1"), updates: updates))
    }

    @Test func suspicionOfItself_persistsTheRaisedIncarnation_beforeAnyPacketLeaves() throws {
        let node = try node(incarnation: 4)
        let n2 = try Tags().applying([(ShardTags.raft, "2")])
        var effects: [NodeEffect] = []
        node.receive(datagram: ping(from: "n2", carrying: [
            MemberUpdate(name: "n2", address: Self.there, incarnation: 0, status: .alive, tags: n2),
            MemberUpdate(name: "n1", address: Self.here, incarnation: 4, status: .suspect, accusers: ["n2"]),
        ]), from: Self.there, at: Self.at(10), into: &effects)

        let persisted = effects.firstIndex { if case .persistIncarnation = $0 { return true }; return false }
        let firstPacket = effects.firstIndex {
            switch $0 {
            case .datagram, .streamPacket: return true
            default: return false
            }
        }
        let p = try #require(persisted, "a refutation raises the incarnation: \(effects)")
        let s = try #require(firstPacket, "the ping is answered")
        #expect(p < s, "the incarnation is persisted before a packet carrying it leaves")
        guard case let .persistIncarnation(incarnation) = effects[p] else { return }
        #expect(incarnation > 4 && incarnation == node.membership?.incarnation)
        // The new member reached the shard layer within the same input.
        #expect(node.peers[NodeID(2)]?.name == "n2")
        #expect(effects.contains { if case let .memberEvent(e) = $0 { return e.kind == .joined && e.name == "n2" }; return false })
    }

    @Test func undecodableDatagram_andAShardBatchSentAsOne_areCountedAndLogged() throws {
        let node = try node()
        var effects: [NodeEffect] = []
        node.receive(datagram: [0x43, 0x48, 0xFF, 1, 2, 3], from: Self.there, at: Self.at(5), into: &effects)
        node.receive(datagram: [], from: Self.there, at: Self.at(6), into: &effects)
        #expect(node.counters.malformedPackets == 2)
        #expect(effects.contains { if case let .log(line) = $0 { return line.message == "dropped undecodable packet" }; return false })
        #expect(!effects.contains { if case .datagram = $0 { return true }; return false })
    }

    @Test func packetOfAnotherCluster_isNotApplied() throws {
        let node = try node()
        var effects: [NodeEffect] = []
        let foreign = PacketCodec.encode(Packet(cluster: Self.settings.cluster &+ 1, sender: "x", message: .ping(seq: 1, target: "n1"),
                                                updates: [MemberUpdate(name: "x", address: Self.there, incarnation: 0, status: .alive)]))
        node.receive(datagram: foreign, from: Self.there, at: Self.at(5), into: &effects)
        #expect(node.membership?.memberCount == 1)
        #expect(effects.contains { if case let .log(line) = $0 { return line.message == "dropped packet of another cluster" }; return false })
    }

    @Test func timers_comeDueAtNextDeadline_andWakeSendsTheProbe() throws {
        let node = try node()
        var effects: [NodeEffect] = []
        let n2 = try Tags().applying([(ShardTags.raft, "2")])
        node.receive(datagram: ping(from: "n2", carrying: [MemberUpdate(name: "n2", address: Self.there, incarnation: 0, status: .alive, tags: n2)]),
                     from: Self.there, at: Self.at(1), into: &effects)
        let deadline = try #require(node.nextDeadline)
        var probes = 0
        var now = Self.at(1)
        for _ in 0..<50 {
            guard let due = node.nextDeadline else { break }
            now = NodeTime(now: due, wallMillis: 0)
            var out: [NodeEffect] = []
            node.wake(at: now, into: &out)
            probes += out.filter { if case let .datagram(to, _, kind) = $0 { return to == Self.there && kind == .ping }; return false }.count
            if probes > 0 { break }
        }
        #expect(deadline > Instant.zero)
        #expect(probes > 0, "a member known from a datagram gets probed when the timers come due")
    }
}
