import Testing
@testable import ChorusQueue

@Suite struct PublishTests {
    @Test func aBatch_isStoredAtConsecutiveOffsets_inOneEntry() {
        var t = TestPartition()
        #expect(t.publish("a", "b", "c") == [.stored(offset: 1), .stored(offset: 2), .stored(offset: 3)])
        #expect(t.partition.appliedIndex == 1)
        #expect(t.partition.stats.ready == 3)
        #expect(t.partition.stats.bytes == 3)
    }

    @Test func aProducerID_publishedAgainWithinTheWindow_isADuplicateOfTheFirstOffset_andStoresNothing() {
        var t = TestPartition()
        t.publish("a", id: "p1")
        t.advance(119_999)
        #expect(t.publish("a again", id: "p1") == [.duplicate(offset: 1)])
        #expect(t.partition.stats.messages == 1)
        #expect(t.partition.counters.duplicates == 1)
    }

    @Test func aProducerID_afterTheWindow_isStoredAgain() {
        var t = TestPartition()
        t.publish("a", id: "p1")
        t.advance(120_000)
        #expect(t.publish("a", id: "p1") == [.stored(offset: 2)])
    }

    @Test func aDuplicate_isRecognised_evenAfterTheFirstCopyWasAcked() {
        var t = TestPartition()
        t.publish("a", id: "p1")
        #expect(t.ack(t.fetch()) == [.acked])
        #expect(t.publish("a", id: "p1") == [.duplicate(offset: 1)])
        #expect(t.partition.stats.messages == 0)
    }

    @Test func oneIDTwiceInOneBatch_isStoredOnce() {
        var t = TestPartition()
        #expect(t.publish("x", "x", id: "same") == [.stored(offset: 1), .duplicate(offset: 1)])
    }

    @Test func dedup_survivesALeaderChange_becauseItIsInTheSnapshot() throws {
        var t = TestPartition()
        t.publish("a", id: "p1")
        t.partition = try MemoryPartition(snapshot: t.partition.snapshot(), bodies: MemoryBodyStore())
        t.advance(1_000)
        #expect(t.publish("a", id: "p1") == [.duplicate(offset: 1)])
    }

    @Test func withDedupOff_everyCopyIsStored() {
        var t = TestPartition { $0.dedupWindowMillis = 0 }
        #expect(t.publish("a", "a", id: "p1") == [.stored(offset: 1), .stored(offset: 2)])
        #expect(t.partition.stats.dedupIDs == 0)
    }

    @Test func pastItsCapacity_theDedupWindowForgetsTheOldestIDFirst() {
        var t = TestPartition { $0.maxDedupIDs = 2 }
        t.publish("a", id: "1"); t.publish("b", id: "2"); t.publish("c", id: "3")
        #expect(t.publish("a", id: "1") == [.stored(offset: 4)])
        #expect(t.publish("c", id: "3") == [.duplicate(offset: 3)])
    }

    @Test func aFullPartition_storesThePrefixOfABatch_andRefusesTheRestAsQueueFull() {
        var t = TestPartition { $0.maxLength = 2 }
        #expect(t.publish("a", "b", "c") == [.stored(offset: 1), .stored(offset: 2), .refused(.queueFull)])
        #expect(t.publish("d", id: "x") == [.refused(.queueFull)])
        _ = t.ack(t.fetch(1))
        #expect(t.publish("d") == [.stored(offset: 3)])
        #expect(t.partition.counters.refused == 2)
    }

    @Test func theByteLimit_refusesAsBytesFull_andATooLargeBody_asTooLarge() {
        var t = TestPartition { $0.maxMessageBytes = 4; $0.maxBytes = 6 }
        #expect(t.publish("abcd", "ef", "g") == [.stored(offset: 1), .stored(offset: 2), .refused(.bytesFull)])
        #expect(t.publish("abcde") == [.refused(.tooLarge)])
    }

    @Test func aDuplicate_isAcknowledged_evenWhenThePartitionIsFull() {
        var t = TestPartition { $0.maxLength = 1 }
        t.publish("a", id: "p1")
        #expect(t.publish("a", id: "p1") == [.duplicate(offset: 1)])
    }
}
