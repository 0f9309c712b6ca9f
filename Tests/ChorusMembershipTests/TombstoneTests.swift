import Testing
import ChorusBase
@testable import ChorusMembership

/// Tombstones end: unknown dead or left members are never imported, every new death verdict
/// re-arms the reaping, and tombstones do not make state digests differ.
@Suite struct TombstoneTests {
    @Test func deathOrLeaveOfAnUnknownMember_isNotImported() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("gone", .dead, 3), Fixture.update("went", .left, 1)]), from: Fixture.address(100), at: .zero, into: &out)
        let sync = PushPull(isJoin: false, isResponse: true, members: [Fixture.update("old", .dead, 9)])
        m.receive(Packet(cluster: m.settings.cluster, sender: "b", message: .pushPull(sync)), from: Fixture.address(100), at: .zero, into: &out)
        #expect(m.memberCount == 2)
        #expect(m.status(of: "gone") == nil && m.status(of: "went") == nil && m.status(of: "old") == nil)
    }

    /// A suspicion is about a member someone holds alive; a node that never knew the member,
    /// or already forgot it, takes no new member from it (memberlist's `suspectNode` ignores
    /// unknown members): otherwise suspicions passed between nodes re-import names that
    /// are gone, and they linger as `suspect` long after their end.
    @Test func suspicionOfAnUnknownMember_isNotImported() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("gone", .suspect, 3, accusers: ["b"])]), from: Fixture.address(100), at: .zero, into: &out)
        let sync = PushPull(isJoin: false, isResponse: true, members: [Fixture.update("old", .suspect, 9)])
        m.receive(Packet(cluster: m.settings.cluster, sender: "b", message: .pushPull(sync)), from: Fixture.address(100), at: .zero, into: &out)
        #expect(m.memberCount == 2)
        #expect(m.status(of: "gone") == nil && m.status(of: "old") == nil)
    }

    /// A suspicion at a higher incarnation does not bring a dead or left member back: only
    /// the member itself (an `alive` at a higher incarnation) can.
    @Test(arguments: [MemberStatus.dead, .left])
    func suspicionOfATombstone_doesNotReviveIt(held: MemberStatus) throws {
        var m = try Fixture.node(knowing: ["b", "x"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("x", held, 1)]), from: Fixture.address(100), at: .zero, into: &out)
        m.receive(Fixture.gossip([Fixture.update("x", .suspect, 5, accusers: ["b"])]), from: Fixture.address(100), at: Fixture.at(1), into: &out)
        #expect(m.status(of: "x") == held)
        m.receive(Fixture.gossip([Fixture.update("x", .alive, 6)]), from: Fixture.address(100), at: Fixture.at(2), into: &out)
        #expect(m.status(of: "x") == .alive, "the member itself still comes back")
    }

    /// `dead → dead` and `left → dead` at a higher incarnation: the second verdict restarts
    /// the tombstone time and is reaped a tombstone time after itself.
    @Test(arguments: [(MemberStatus.dead, Incarnation(0)), (.left, 1)])
    func tombstoneGivenANewVerdictAtHigherIncarnation_isForgottenATombstoneTimeAfterIt(first: MemberStatus, incarnation: Incarnation) throws {
        var s = MembershipSettings()
        s.tombstoneTimeout = .seconds(60)
        var m = try Fixture.node(knowing: ["b", "x"], settings: s)
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("x", first, incarnation)], settings: s), from: Fixture.address(100), at: .zero, into: &out)
        m.receive(Fixture.gossip([Fixture.update("x", .dead, incarnation + 1)], settings: s), from: Fixture.address(100), at: Fixture.at(30), into: &out)
        m.tick(at: Fixture.at(61), into: &out)
        #expect(m.status(of: "x") == .dead, "the second verdict is only 31 s old")
        m.tick(at: Fixture.at(91), into: &out)
        #expect(m.status(of: "x") == nil)
    }

    @Test func aTombstoneOnOneSideOnly_leavesDigestsEqual() throws {
        var a = try Fixture.node("a", knowing: ["b", "x"])
        var b = try Fixture.node("b", knowing: ["a"])
        var out: [MembershipEffect] = []
        a.receive(Fixture.gossip([Fixture.update("x", .dead, 0)]), from: Fixture.address(100), at: .zero, into: &out)
        // b heard of a at the address a's fixture uses for itself; a holds b likewise.
        #expect(a.status(of: "x") == .dead && b.status(of: "x") == nil)
        #expect(a.digest(buckets: 8) == b.digest(buckets: 8))
    }
}
