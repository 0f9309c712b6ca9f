import Testing
import ChorusBase
@testable import ChorusMembership

/// A node that restarts under its old name with a new address or new tags is known with them
/// everywhere within a few protocol periods, and its old self is refuted.
@Suite struct RestartTests {
    /// Five nodes that agree; n3 is then replaced at once (before anyone suspects it) by a
    /// process of the same name at `address` with `tags` and incarnation 0.
    static func restarted(at address: Endpoint, tags: Tags) -> TestNetwork {
        var net = TestNetwork()
        for i in 0..<5 { net.add(i, seeds: i == 0 ? [] : [0]) }
        net.run(for: .seconds(3))
        net.crashed.insert(TestNetwork.address(3))
        net.start("n3", at: address, seeds: [0], tags: tags, seed: 99)
        return net
    }

    @Test func restartWithNewTagsAtTheSameAddress_isKnownEverywhereWithinTwoPeriods() throws {
        let tags = try Tags(["role": "new"])
        var net = Self.restarted(at: TestNetwork.address(3), tags: tags)
        net.run(for: .seconds(2))
        for j in [0, 1, 2, 4] {
            #expect(net.member(3, seenBy: j)?.tags == tags, "n\(j) still holds n3's old tags")
        }
        #expect(net.nodes[TestNetwork.address(3)]!.incarnation > 0, "the old self was not refuted")
    }

    @Test func restartAtANewAddress_isKnownEverywhereAtItWithinTwoPeriods() {
        let moved = TestNetwork.address(50)
        var net = Self.restarted(at: moved, tags: Tags())
        net.run(for: .seconds(2))
        for j in [0, 1, 2, 4] {
            #expect(net.member(3, seenBy: j)?.address == moved, "n\(j) still sends to n3's old address")
            #expect(net.status(of: 3, seenBy: j) == .alive)
        }
        // And it stays so: nobody keeps probing the old address into a death verdict.
        net.run(for: .seconds(20))
        for j in [0, 1, 2, 4] { #expect(net.status(of: 3, seenBy: j) == .alive && net.member(3, seenBy: j)?.address == moved) }
    }
}
