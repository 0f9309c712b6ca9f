import ChorusBase
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import ChorusWire
import Testing
@testable import ChorusNode

/// Shard batches on their way out of a node: split into frames below the frame limit, and
/// every batch or frame that cannot go reported to the Raft groups as unreachable — decided
/// by the node, so the runtime and the simulator carry out the same rule.
@Suite struct ShardFrameRoutingTests {
    private func member(_ name: String, raft: UInt64, address: Endpoint, status: MemberStatus) throws -> Membership.MemberInfo {
        let tags = try Tags().applying([(ShardTags.raft, String(raft, radix: 16))])
        return Membership.MemberInfo(name: name, address: address, status: status, tags: tags)
    }

    private func lonelyNode() throws -> Node {
        let host = try ShardHost<ShardState>(id: NodeID(1), seed: 1, epoch: nil)
        return try Node(name: "n1", host: host, settings: NodeSettings(), seed: 1)
    }

    /// A node that came back under a new name on the old address leaves two peers at one
    /// address: the old one (dead) and the new one. A broken stream to that address concerns
    /// both; picking one of them by dictionary order could leave the live one unreported.
    @Test func brokenStream_toAnAddressTwoPeersShare_isReportedForBoth() throws {
        let node = try lonelyNode()
        let shared = Endpoint(ip: IPAddress(ipv4: 0x7F00_0002), port: 7946)
        var effects: [NodeEffect] = []
        node.updateView([try member("old", raft: 2, address: shared, status: .dead),
                         try member("new", raft: 3, address: shared, status: .alive)], at: NodeTime(now: .zero, wallMillis: 0), into: &effects)
        #expect(node.peers.count == 2)
        node.peerUnreachable(shared, at: NodeTime(now: .zero, wallMillis: 0), into: &effects)
        #expect(node.host.counters.peersUnreachable == 2, "every peer at the address hears of it")
    }

    /// In the simulator, a leader's batches to a crashed member (no address any more) are
    /// reported unreachable, as the runtime reports them — not dropped in silence.
    @Test func batchesToACrashedMember_areReportedUnreachable_inTheSimulatorToo() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 5)
        #expect(c.settle())
        let before = c.slots.map { $0.node?.host.counters.peersUnreachable ?? 0 }
        c.crash(2)
        c.run(for: .seconds(2))
        let reported = (0..<2).map { (c.slots[$0].node?.host.counters.peersUnreachable ?? 0) - before[$0] }
        #expect(reported.reduce(0, +) > 0, "the survivors reported the crashed member unreachable: \(reported)")
    }

    /// A batch too large for one frame leaves as several, each under the limit, and a frame
    /// that can never fit is held back and reported instead of refused by the transport.
    @Test func framesOfABatch_fitTheLimit_andAnOversizedOneIsReported() throws {
        let node = try lonelyNode()
        let address = Endpoint(ip: IPAddress(ipv4: 0x7F00_0002), port: 7946)
        var effects: [NodeEffect] = []
        node.updateView([try member("n2", raft: 2, address: address, status: .alive)], at: NodeTime(now: .zero, wallMillis: 0), into: &effects)
        var batch = ShardBatch(from: NodeID(1), to: NodeID(2), epoch: 1)
        for s in 0..<8 {
            let entries = [Entry(index: LogIndex(1), term: Term(1), payload: .command(Array(repeating: UInt8(s), count: 3_000)))]
            batch.append(Message(from: NodeID(1), to: NodeID(2), term: Term(1),
                                 body: .appendEntries(AppendEntries(prevIndex: .zero, prevTerm: .zero, entries: entries, commit: .zero))), shard: ShardID(UInt32(s)))
            batch.heartbeats.append(.init(shard: ShardID(UInt32(s)), term: Term(1), commit: .zero))
        }
        let frames = node.frames(for: [batch], maxFrameBytes: 10_000)
        #expect(frames.count > 1 && frames.allSatisfy { $0.to == address && $0.frame.count <= 10_000 })
        #expect(node.host.counters.peersUnreachable == 0)
        let tooBig = node.frames(for: [batch], maxFrameBytes: 1_000)
        #expect(tooBig.allSatisfy { $0.frame.count <= 1_000 }, "nothing the transport would refuse is handed to it")
        node.shardsAdvanced([], at: NodeTime(now: .zero, wallMillis: 0), into: &effects)
        #expect(node.host.counters.peersUnreachable == 1, "the held-back frames are reported once")
    }
}
