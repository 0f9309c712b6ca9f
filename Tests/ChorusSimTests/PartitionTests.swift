import Testing
@testable import ChorusSim

@Suite struct PartitionTests {
    private func ids(_ values: [Int]) -> [SimNodeID] { values.map { SimNodeID($0) } }

    @Test func whole_reachesEveryone() {
        let partition = Partition(nodeCount: 4)
        #expect(partition.isWhole)
        for a in 0..<4 { for b in 0..<4 { #expect(partition.canReach(from: SimNodeID(a), to: SimNodeID(b))) } }
    }

    @Test func groups_separateNodes_andUnlistedNodesFormTheirOwnGroup() {
        var partition = Partition(nodeCount: 6)
        partition.split(into: [ids([0, 1]), ids([2, 3])])
        #expect(partition.isSplit && !partition.isWhole)
        #expect(partition.canReach(from: SimNodeID(0), to: SimNodeID(1)))
        #expect(!partition.canReach(from: SimNodeID(0), to: SimNodeID(2)))
        #expect(!partition.canReach(from: SimNodeID(3), to: SimNodeID(1)))
        #expect(partition.canReach(from: SimNodeID(4), to: SimNodeID(5)))  // the unlisted rest
        #expect(!partition.canReach(from: SimNodeID(4), to: SimNodeID(0)))
    }

    @Test func aSingleGroupOfEveryone_isNotASplit() {
        var partition = Partition(nodeCount: 3)
        partition.split(into: [ids([0, 1, 2])])
        #expect(partition.isWhole)
    }

    @Test func isolate_cutsANodeBothWays() {
        var partition = Partition(nodeCount: 3)
        partition.isolate(ids([2]))
        #expect(!partition.canReach(from: SimNodeID(2), to: SimNodeID(0)))
        #expect(!partition.canReach(from: SimNodeID(0), to: SimNodeID(2)))
        #expect(partition.canReach(from: SimNodeID(0), to: SimNodeID(1)))
    }

    @Test func oneWayCut_blocksOnlyThatDirection() {
        var partition = Partition(nodeCount: 4)
        partition.cut(from: ids([0, 1]), to: ids([2]))
        #expect(!partition.canReach(from: SimNodeID(0), to: SimNodeID(2)))
        #expect(!partition.canReach(from: SimNodeID(1), to: SimNodeID(2)))
        #expect(partition.canReach(from: SimNodeID(2), to: SimNodeID(0)))
        #expect(partition.canReach(from: SimNodeID(0), to: SimNodeID(3)))
        #expect(partition.canReach(from: SimNodeID(3), to: SimNodeID(2)))
        partition.cut(from: ids([3]), to: ids([0]))
        #expect(partition.cutCount == 2)
        #expect(!partition.canReach(from: SimNodeID(3), to: SimNodeID(0)))
        #expect(!partition.canReach(from: SimNodeID(0), to: SimNodeID(2)))  // first cut still holds
        #expect(partition.canReach(from: SimNodeID(1), to: SimNodeID(0)))
    }

    @Test func heal_clearsGroupsAndCuts() {
        var partition = Partition(nodeCount: 4)
        partition.split(into: [ids([0]), ids([1])])
        for _ in 0..<Partition.maximumCuts { partition.cut(from: ids([2]), to: ids([3])) }
        partition.heal()
        #expect(partition.isWhole && partition.cutCount == 0)
        #expect(partition == Partition(nodeCount: 4))
    }
}
