import Testing
import ChorusBase
@testable import ChorusMembership

/// Lifeguard (Dadgar et al. 2018) in full: the buddy system, local health rules, nacks per
/// helper, and memberlist's stream fallback probe.
@Suite struct LifeguardTests {
    /// A node knowing `target` and `helpers`, its round-robin moved out of the way, probing
    /// `target` at time zero. Returns the node and the ping's effects.
    static func probing(_ target: String = "x", helpers: [String], settings: MembershipSettings = MembershipSettings()) throws -> (Membership, [MembershipEffect]) {
        var m = try Fixture.node(knowing: helpers + [target], settings: settings)
        m.nextProbeAt = Fixture.at(100)
        var out: [MembershipEffect] = []
        m.startProbe(m.table.slot(of: target)!, now: .zero, into: &out)
        return (m, out)
    }

    @Test func pingToASuspect_carriesTheSuspicionFirst() throws {
        var m = try Fixture.node(knowing: ["b", "x"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("x", .suspect, 0, accusers: ["b"])]), from: Fixture.address(100), at: .zero, into: &out)
        // Newer news queued after the suspicion would ride first without the buddy rule.
        m.receive(Fixture.gossip((0..<20).map { Fixture.update("new\($0)", .alive, 0, at: Fixture.address(200 + $0)) }),
                  from: Fixture.address(100), at: .zero, into: &out)
        m.nextProbeAt = Fixture.at(100)
        out.removeAll()
        m.startProbe(m.table.slot(of: "x")!, now: .zero, into: &out)
        let pings = Fixture.sends(out).filter { if case .ping = $0.0.message { return true }; return false }
        #expect(pings.count == 1)
        #expect(pings.first?.0.updates.first?.name == "x" && pings.first?.0.updates.first?.status == .suspect)
    }

    @Test func failedProbeWithNoNacks_raisesHealthByTheNumberMissing() throws {
        var (m, out) = try Self.probing(helpers: ["h1", "h2", "h3"])
        m.tick(at: Fixture.at(0.6), into: &out)
        #expect(m.probe?.nacksExpected == 3)
        m.tick(at: Fixture.at(1.1), into: &out)
        #expect(m.probe == nil)
        #expect(m.localHealthScore == 3)
    }

    @Test func failedProbeWithoutHelpers_raisesHealthByOne() throws {
        var (m, out) = try Self.probing(helpers: [])
        m.tick(at: Fixture.at(0.6), into: &out)
        m.tick(at: Fixture.at(1.1), into: &out)
        #expect(m.status(of: "x") == .suspect)
        #expect(m.localHealthScore == 1)
    }

    @Test func repeatedNacksFromOneHelper_countOnce_andStrangersNotAtAll() throws {
        var (m, out) = try Self.probing(helpers: ["h1", "h2", "h3"])
        m.tick(at: Fixture.at(0.6), into: &out)
        let seq = m.probe!.seq
        for sender in ["h1", "h1", "h1", "stranger"] {
            m.receive(Packet(cluster: m.settings.cluster, sender: sender, message: .nack(seq: seq)), from: Fixture.address(100), at: Fixture.at(0.9), into: &out)
        }
        m.tick(at: Fixture.at(1.1), into: &out)
        #expect(m.localHealthScore == 2)
    }

    @Test func directProbeTimeout_alsoPingsOverTheStream() throws {
        var (m, out) = try Self.probing(helpers: ["h1"])
        out.removeAll()
        m.tick(at: Fixture.at(0.6), into: &out)
        let streamPings = Fixture.sends(out, via: .stream).filter { if case .ping(_, "x") = $0.0.message { return true }; return false }
        #expect(streamPings.count == 1)
        #expect(streamPings.first?.1 == m.table[m.table.slot(of: "x")!].address)
    }

    @Test func pingReceivedOverTheStream_isAnsweredOverTheStreamToTheSendersAddress() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        m.receive(Packet(cluster: m.settings.cluster, sender: "b", message: .ping(seq: 7, target: "a")),
                  from: Fixture.address(999), via: .stream, at: .zero, into: &out)
        let acks = Fixture.sends(out, via: .stream)
        #expect(acks.count == 1 && acks.first?.0.message == .ack(seq: 7) && acks.first?.1 == Fixture.address(100))
    }

    /// Two nodes whose datagrams are all lost but whose streams work: the stream probe keeps
    /// them from suspecting each other.
    @Test func membersOnALossyDatagramPath_areNotSuspected() {
        var net = TestNetwork()
        net.add(0)
        net.add(1, seeds: [0])
        net.run(for: .seconds(2))
        #expect(net.converged(alive: 2))
        let a = TestNetwork.address(0), b = TestNetwork.address(1)
        net.datagramCut = [[a, b], [b, a]]
        net.run(for: .seconds(30))
        #expect(!net.events.contains { $0.1.kind == .suspect || $0.1.kind == .dead })
    }
}
