import Testing
@testable import ChorusQueue

@Suite struct PartitionChoiceTests {
    @Test func aKey_alwaysMapsToTheSamePartition_andKnownValuesNeverChange() {
        let p = PartitionChoice.partition(forKey: key("customer-42"), partitions: 8)
        #expect((0..<100).allSatisfy { _ in PartitionChoice.partition(forKey: key("customer-42"), partitions: 8) == p })
        // Pinned: a change of the hash would move every key to another partition on upgrade.
        #expect(StableHash.hash(Array("customer-42".utf8)) == 16_557_371_046_515_049_401)
        #expect(StableHash.hash([UInt8]()) == 17_280_346_270_528_514_342)
        #expect((0..<8).map { PartitionChoice.partition(forKey: key("k\($0)"), partitions: 8) } == [0, 2, 3, 6, 4, 5, 6, 5])
        #expect(PartitionChoice.partition(forKey: key("k"), partitions: 1) == 0)
    }

    @Test func manyKeys_spreadEvenlyOverThePartitions() {
        var counts = [Int](repeating: 0, count: 8)
        for i in 0..<80_000 { counts[Int(PartitionChoice.partition(forKey: key("user-\(i)"), partitions: 8))] += 1 }
        #expect(counts.allSatisfy { $0 > 9_000 && $0 < 11_000 }, "\(counts)")
    }

    @Test func theRotation_visitsEveryPartitionOncePerRound_fromItsStart() {
        var r = PartitionRotation(start: 5)
        #expect((0..<8).map { _ in r.choose(partitions: 8) } == [5, 6, 7, 0, 1, 2, 3, 4])
        #expect(r.choose(partitions: 3) == 1)
    }
}

extension PartitionChoiceTests {
    @Test func producerIDs_pickOnePartitionAndSpreadOverAll() throws {
        var seen = Set<UInt16>()
        for n in 0..<400 {
            let id = try ProducerMessageID("order-\(n)")
            let p = PartitionChoice.partition(forProducerID: id, partitions: 8)
            #expect(p < 8)
            #expect(PartitionChoice.partition(forProducerID: id, partitions: 8) == p)
            seen.insert(p)
        }
        #expect(seen.count == 8)
    }
}
