import Testing
import ChorusBase
@testable import ChorusMembership

/// No input makes a node send much more, or to anyone other than known members and the
/// input's own source.
@Suite struct AmplificationTests {
    @Test func pingReqForAnUnknownTarget_pingsNothing() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        m.receive(Packet(cluster: m.settings.cluster, sender: "b", message: .pingReq(seq: 1, target: "victim", address: Fixture.address(77), timeout: .milliseconds(500))),
                  from: Fixture.address(100), at: .zero, into: &out)
        #expect(!Fixture.sends(out).contains { $0.1 == Fixture.address(77) })
        #expect(Fixture.sends(out).allSatisfy { $0.1 == Fixture.address(100) })
    }

    @Test func pingReqNamingAnotherAddress_pingsTheAddressWeHold() throws {
        var m = try Fixture.node(knowing: ["b", "x"])
        var out: [MembershipEffect] = []
        m.receive(Packet(cluster: m.settings.cluster, sender: "b", message: .pingReq(seq: 1, target: "x", address: Fixture.address(77), timeout: .milliseconds(500))),
                  from: Fixture.address(100), at: .zero, into: &out)
        let pings = Fixture.sends(out).filter { if case .ping = $0.0.message { return true }; return false }
        #expect(pings.count == 1 && pings.first?.1 == Fixture.address(101))
    }

    @Test func pushPullRequestByDatagram_isAnsweredOnlyToItsSource() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        // A stranger claims to live at the victim's address.
        let request = PushPull(isJoin: true, isResponse: false, members: [Fixture.update("stranger", .alive, 0, at: Fixture.address(77))])
        m.receive(Packet(cluster: m.settings.cluster, sender: "stranger", message: .pushPull(request)), from: Fixture.address(55), at: .zero, into: &out)
        let replies = Fixture.sends(out).filter { if case .pushPull = $0.0.message { return true }; return false }
        #expect(replies.count == 1 && replies.first?.1 == Fixture.address(55))
    }

    @Test func updateTooLargeForAnyDatagram_goesByStreamAndOthersStillSpread() throws {
        var s = MembershipSettings()
        s.datagramBudget = 512
        var m = try Fixture.node(knowing: ["b", "c"], settings: s)
        var out: [MembershipEffect] = []
        let small = (0..<10).map { Fixture.update("small\($0)", .alive, 0, at: Fixture.address(300 + $0)) }
        m.receive(Fixture.gossip(small, settings: s), from: Fixture.address(100), at: .zero, into: &out)
        let big = try Tags(["blob": String(repeating: "z", count: 490)])
        m.receive(Fixture.gossip([Fixture.update("big", .alive, 0, at: Fixture.address(400), tags: big)], settings: s),
                  from: Fixture.address(100), at: .zero, into: &out)
        out.removeAll()
        for t in 1...20 { m.tick(at: Fixture.at(Double(t) * 0.2), into: &out) }
        let datagrams = Fixture.sends(out, via: .datagram).flatMap { $0.0.updates.map(\.name) }
        for u in small { #expect(datagrams.contains(u.name), "\(u.name) never left in a datagram") }
        let streamed = Fixture.sends(out, via: .stream).flatMap { $0.0.updates.map(\.name) }
        #expect(streamed.contains("big"))
        for (p, _) in Fixture.sends(out, via: .datagram) { #expect(PacketCodec.encode(p).count <= 512) }
    }
}
