import Testing
import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// Consistent hashing's promise (Karger et al. 1997): when one member joins or leaves, only
/// the keys of that member move, and they are about 1/N of all keys.
@Suite struct RingChurnTests {
    static let keys = RingFixtures.keyTokens(200_000)

    @Test(arguments: [5, 20, 50])
    func joinMovesAboutOneNthOfKeysAllToTheNewcomer(members: Int) {
        let names = RingFixtures.names(members)
        let before = Ring(members: RingFixtures.alive(names))
        let after = Ring(members: RingFixtures.alive(names + ["newcomer"]))
        var moved = 0
        for k in Self.keys {
            let old = before.owner(of: k), new = after.owner(of: k)
            if old != new {
                moved += 1
                #expect(new == "newcomer")
            }
        }
        let ideal = 1.0 / Double(members + 1)
        let ratio = Double(moved) / Double(Self.keys.count) / ideal
        // V=128: a member's share has a spread of about 1/√128 ≈ 9%; allow 3.5 spreads.
        #expect(ratio > 0.7 && ratio < 1.3, "moved \(ratio)× the ideal share")
    }

    @Test(arguments: [5, 20, 50])
    func leaveMovesAboutOneNthOfKeysAllFromTheLeaver(members: Int) {
        let names = RingFixtures.names(members)
        let leaver = names[members / 2]
        let before = Ring(members: RingFixtures.alive(names))
        var view = RingFixtures.alive(names)
        view[members / 2].status = .left
        let after = Ring(members: view)
        var moved = 0
        for k in Self.keys {
            let old = before.owner(of: k), new = after.owner(of: k)
            if old == leaver { moved += 1 } else { #expect(old == new) }
            #expect(new != leaver)
        }
        let ratio = Double(moved) / Double(Self.keys.count) * Double(members)
        #expect(ratio > 0.7 && ratio < 1.3, "moved \(ratio)× the ideal share")
    }

    @Test func successorListsChangeOnlyWhereTheChangedMemberAppears() {
        let names = RingFixtures.names(30)
        let before = Ring(members: RingFixtures.alive(names))
        let joined = Ring(members: RingFixtures.alive(names + ["newcomer"]))
        var view = RingFixtures.alive(names)
        view[4].status = .dead
        let died = Ring(members: view)
        for k in Self.keys.prefix(20_000) {
            let old = before.successors(of: k, count: 3)
            let withNew = joined.successors(of: k, count: 3)
            #expect((old != withNew) == withNew.contains("newcomer"))
            let withoutDead = died.successors(of: k, count: 3)
            #expect((old != withoutDead) == old.contains(names[4]))
        }
    }

    @Test func aPassingSuspicionMovesNothing() {
        let names = RingFixtures.names(10)
        var view = RingFixtures.alive(names)
        let before = Ring(members: view)
        view[2].status = .suspect
        #expect(Ring(members: view) == before)
        view[2].status = .alive
        #expect(Ring(members: view) == before)
    }
}
