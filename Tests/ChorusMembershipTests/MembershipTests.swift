import Testing
import ChorusBase
@testable import ChorusMembership

@Suite struct MembershipTests {
    @Test func joinThroughOneSeedConverges() {
        var net = TestNetwork()
        net.add(0)
        for i in 1..<8 { net.add(i, seeds: [0]) }
        net.run(for: .seconds(3))
        #expect(net.converged(alive: 8))
        #expect(net.nodes.values.allSatisfy { $0.hasJoined })
    }

    @Test func crashedMemberIsSuspectedThenDeclaredDeadEverywhere() {
        var net = TestNetwork()
        for i in 0..<6 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(3))
        net.crashed.insert(TestNetwork.address(5))
        net.run(for: .seconds(15))
        for j in 0..<5 { #expect(net.status(of: 5, seenBy: j) == .dead) }
        let kinds = net.events.filter { $0.1.name == "n5" }.map(\.1.kind)
        #expect(kinds.contains(.suspect) && kinds.contains(.dead))
        // No healthy member was ever suspected.
        #expect(!net.events.contains { $0.1.name != "n5" && ($0.1.kind == .suspect || $0.1.kind == .dead) })
    }

    @Test func gracefulLeaveIsSeenAsLeftAndOutranksOldIncarnation() {
        var net = TestNetwork()
        for i in 0..<5 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(3))
        let a = TestNetwork.address(4)
        var m = net.nodes[a]!
        let before = m.incarnation
        var out: [MembershipEffect] = []
        m.leave(at: net.now, into: &out)
        #expect(m.incarnation == before + 1)
        net.nodes[a] = m
        net.perform(from: a, out)
        net.run(for: .seconds(1))
        for j in 0..<4 { #expect(net.status(of: 4, seenBy: j) == .left) }
        #expect(net.nodes[a]!.hasLeft)
    }

    @Test func restartedNodeWithSameNameRejoinsAlive() {
        var net = TestNetwork()
        for i in 0..<5 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(3))
        net.crashed.insert(TestNetwork.address(3))
        net.run(for: .seconds(15))
        #expect(net.status(of: 3, seenBy: 0) == .dead)
        net.add(3, seeds: [0])   // memory lost: starts again at incarnation 0
        net.run(for: .seconds(3))
        #expect(net.converged(alive: 5))
        #expect(net.nodes[TestNetwork.address(3)]!.incarnation > 0)
    }

    @Test func refutesSuspicionAboutItself() {
        var net = TestNetwork()
        for i in 0..<3 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(2))
        var m = net.nodes[TestNetwork.address(0)]!
        let inc = m.incarnation
        var out: [MembershipEffect] = []
        let accusation = Packet(cluster: m.settings.cluster, sender: "n1", message: .gossip,
                                updates: [MemberUpdate(name: "n0", address: TestNetwork.address(0), incarnation: inc, status: .suspect, accusers: ["n1"])])
        m.receive(accusation, from: TestNetwork.address(1), at: net.now, into: &out)
        #expect(m.incarnation == inc + 1)
        #expect(m.counters.refutations == 1)
        #expect(m.localHealthScore == 1)
    }

    @Test func packetsOfAnotherClusterAreDropped() {
        var s = MembershipSettings()
        s.cluster = ClusterID.from(name: "blue")
        var m = try! Membership(name: "a", address: TestNetwork.address(1), settings: s, seed: 1, now: .zero)
        var out: [MembershipEffect] = []
        m.receive(Packet(cluster: ClusterID.from(name: "green"), sender: "b", message: .ping(seq: 1, target: "a")),
                  from: TestNetwork.address(2), at: .zero, into: &out)
        #expect(out.isEmpty)
        #expect(m.counters.droppedWrongCluster == 1)
    }

    @Test func piggybackedDatagramsStayWithinBudget() throws {
        var s = MembershipSettings()
        s.datagramBudget = 600
        var m = try Membership(name: "seed", address: TestNetwork.address(1), settings: s, seed: 3, now: .zero)
        var out: [MembershipEffect] = []
        let tags = try Tags(["rack": String(repeating: "r", count: 40)])
        let members = (0..<500).map { MemberUpdate(name: "member-\($0)", address: TestNetwork.address($0 + 10), incarnation: 1, status: .alive, tags: tags) }
        m.receive(Packet(cluster: s.cluster, sender: "member-0", message: .pushPull(PushPull(isJoin: true, isResponse: false, members: members))),
                  from: TestNetwork.address(10), at: .zero, into: &out)
        out.removeAll()
        for t in 1...50 { m.tick(at: Instant(nanoseconds: Int64(t) * 200_000_000), into: &out) }
        var datagrams = 0
        for case let .send(p, _, .datagram) in out {
            datagrams += 1
            #expect(PacketCodec.encode(p).count <= 600)
        }
        #expect(datagrams > 0)
    }

    @Test func tagChangesSpread() throws {
        var net = TestNetwork()
        for i in 0..<4 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(2))
        let a = TestNetwork.address(2)
        var m = net.nodes[a]!
        var out: [MembershipEffect] = []
        m.setTags(try Tags(["role": "cache"]), at: net.now, into: &out)
        net.nodes[a] = m
        net.perform(from: a, out)
        net.run(for: .seconds(1))
        for j in [0, 1, 3] {
            #expect(net.nodes[TestNetwork.address(j)]!.member(named: "n2", at: net.now)?.tags["role"] == "cache")
        }
        #expect(net.events.contains { $0.1.kind == .updated && $0.1.name == "n2" })
    }

    @Test func partitionedSidesMarkEachOtherDeadAndMergeAfterHealing() {
        var s = MembershipSettings()
        s.reconnectInterval = .seconds(5)
        var net = TestNetwork(settings: s)
        for i in 0..<5 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(3))
        net.partition([0, 1, 2], [3, 4])
        net.run(for: .seconds(40))
        #expect(net.status(of: 4, seenBy: 0) == .dead)
        #expect(net.status(of: 0, seenBy: 4) == .dead)
        net.cut.removeAll()
        net.run(for: .seconds(40))
        #expect(net.converged(alive: 5))
    }
}

@Suite struct DigestSyncTests {
    /// Two nodes that learned different members converge through digest syncs alone, and a
    /// sync between agreeing nodes carries no members.
    @Test func digestSyncExchangesOnlyDifferingBuckets() throws {
        var s = MembershipSettings()
        s.gossipInterval = .seconds(3600)   // no gossip: only syncs move state
        s.pushPullInterval = .seconds(3600)
        let a0 = TestNetwork.address(1), b0 = TestNetwork.address(2)
        var a = try Membership(name: "a", address: a0, settings: s, seed: 1, now: .zero)
        var b = try Membership(name: "b", address: b0, settings: s, seed: 2, now: .zero)
        var out: [MembershipEffect] = []
        func state(_ names: [String], peer: MemberUpdate) -> Packet {
            Packet(cluster: s.cluster, sender: "x", message: .pushPull(PushPull(isJoin: false, isResponse: true,
                   members: [peer] + names.enumerated().map { MemberUpdate(name: $0.element, address: TestNetwork.address(100 + $0.offset), incarnation: 1, status: .alive) })))
        }
        // Both know each other and 300 common members; a knows 5 more, b 7 more.
        let common = (0..<300).map { "m\($0)" }
        a.receive(state(common + (0..<5).map { "onlyA\($0)" }, peer: MemberUpdate(name: "b", address: b0, incarnation: 0, status: .alive)), from: b0, at: .zero, into: &out)
        b.receive(state(common + (0..<7).map { "onlyB\($0)" }, peer: MemberUpdate(name: "a", address: a0, incarnation: 0, status: .alive)), from: a0, at: .zero, into: &out)
        out.removeAll()
        var request = Packet(cluster: s.cluster, sender: "a", message: .pushPull(PushPull(isJoin: false, phase: .request,
                              digest: a.digest(buckets: a.digestBuckets), members: [a.update(for: a.localSlot)])))
        b.receive(request, from: a0, at: .zero, into: &out)
        guard case let .send(reply, _, _)? = out.first, case let .pushPull(r) = reply.message else { Issue.record("no reply"); return }
        #expect(r.phase == .response && (r.buckets?.count ?? 0) > 0)
        #expect(r.members.count < 100, "a digest reply carries only differing buckets, got \(r.members.count)")
        out.removeAll()
        a.receive(reply, from: b0, at: .zero, into: &out)
        guard case let .send(push, _, _)? = out.first(where: { if case .send = $0 { return true }; return false }) else { Issue.record("no push"); return }
        out.removeAll()
        b.receive(push, from: a0, at: .zero, into: &out)
        #expect(a.memberCount == b.memberCount && a.memberCount == 314)
        #expect(a.digest(buckets: 64) == b.digest(buckets: 64))
        // In sync now: the next digest reply carries nothing.
        out.removeAll()
        request = Packet(cluster: s.cluster, sender: "a", message: .pushPull(PushPull(isJoin: false, phase: .request,
                         digest: a.digest(buckets: a.digestBuckets), members: [a.update(for: a.localSlot)])))
        b.receive(request, from: a0, at: .zero, into: &out)
        guard case let .send(second, _, _)? = out.first, case let .pushPull(r2) = second.message else { Issue.record("no reply"); return }
        #expect(r2.members.isEmpty && r2.buckets == [])
    }
}

@Suite struct MemberTableBoundTests {
    /// A sync naming more members than `maxMembers` cannot grow the table past it.
    @Test func newMembersBeyondTheCapAreRefusedAndCounted() throws {
        var s = MembershipSettings()
        s.maxMembers = 50
        var m = try Membership(name: "a", address: TestNetwork.address(1), settings: s, seed: 1, now: .zero)
        var out: [MembershipEffect] = []
        let flood = (0..<500).map { MemberUpdate(name: "bogus\($0)", address: TestNetwork.address(10 + $0), incarnation: 0, status: .alive) }
        m.receive(Packet(cluster: s.cluster, sender: "x", message: .pushPull(PushPull(isJoin: false, isResponse: true, members: flood))),
                  from: TestNetwork.address(2), at: .zero, into: &out)
        #expect(m.memberCount == 50)
        #expect(m.counters.membersRefused == 451)
    }
}
