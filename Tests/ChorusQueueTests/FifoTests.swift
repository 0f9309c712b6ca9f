import Testing
@testable import ChorusQueue

@Suite struct FifoTests {
    @Test func inFifoMode_aKeysSecondMessage_waitsUntilTheFirstIsAcked_whileOtherKeysFlow() {
        var t = TestPartition { $0.fifoPerKey = true }
        t.publish("k1", "k2", key: "k")
        t.publish("other")
        let first = t.fetch()
        #expect(first.map(\.text) == ["k1", "other"])
        #expect(t.fetch().isEmpty)
        _ = t.ack([first[0]])
        #expect(t.fetch().map(\.text) == ["k2"])
    }

    @Test func inFifoMode_aNackedHeadWithDelay_blocksItsKey_untilItIsDeliveredAgain() {
        var t = TestPartition { $0.fifoPerKey = true }
        t.publish("k1", "k2", key: "k")
        _ = t.nack(t.fetch(), delay: 2_000)
        #expect(t.fetch().isEmpty, "k2 may not overtake k1")
        t.advance(2_000)
        let again = t.fetch()
        #expect(again.map(\.text) == ["k1"])
        #expect(again.map(\.deliveries) == [2])
    }

    @Test func inFifoMode_aHeadWhoseLeaseRanOut_isRedeliveredBeforeLaterMessagesOfItsKey() {
        var t = TestPartition { $0.fifoPerKey = true }
        t.publish("k1", "k2", "k3", key: "k")
        _ = t.fetch(visibility: 1_000)
        t.advance(1_000)
        t.tick()
        #expect(t.fetch().isEmpty)
        t.advance(1_000)
        var order: [String] = []
        while case let got = t.fetch(), !got.isEmpty { order += got.map(\.text); _ = t.ack(got) }
        #expect(order == ["k1", "k2", "k3"])
    }

    @Test func inFifoMode_aDeadLetteredHead_releasesItsKey() {
        var t = TestPartition { $0.fifoPerKey = true }
        t.publish("k1", "k2", key: "k")
        #expect(t.nack(t.fetch(), deadLetter: true) == [.deadLettered(.rejected)])
        #expect(t.fetch().map(\.text) == ["k2"])
    }

    @Test func inFifoMode_theRuleSurvivesASnapshot() throws {
        var t = TestPartition { $0.fifoPerKey = true }
        t.publish("k1", "k2", key: "k")
        let d = t.fetch()
        t.partition = try MemoryPartition(snapshot: t.partition.snapshot(), bodies: MemoryBodyStore())
        #expect(t.fetch().isEmpty)
        _ = t.ack(d)
        #expect(t.fetch().map(\.text) == ["k2"])
    }

    @Test func withoutFifoMode_aLaterMessageOfAKey_mayOvertakeANackedOne() {
        var t = TestPartition()
        t.publish("k1", "k2", key: "k")
        _ = t.nack(t.fetch(1), delay: 2_000)
        #expect(t.fetch().map(\.text) == ["k2"])
    }
}
