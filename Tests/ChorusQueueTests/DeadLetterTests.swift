import Testing
@testable import ChorusQueue

@Suite struct DeadLetterTests {
    /// Delivers the single message `n` times, letting each lease run out.
    static func expire(_ t: inout TestPartition, times n: Int) {
        for _ in 0..<n {
            t.runOutLeases()
            guard !t.fetch(visibility: 1_000).isEmpty else { return }
        }
        t.runOutLeases()
    }

    @Test func afterMaxDeliveries_aMessage_becomesADeadLetter_withItsReasonAndHistory() {
        var t = TestPartition { $0.maxDeliveries = 3 }
        t.publish("poison", key: "k")
        DeadLetterTests.expire(&t, times: 5)
        #expect(t.partition.stats.deadLetters == 1)
        #expect(t.partition.counters.deliveries == 3)
        let dead = t.partition.deadLetters(limit: 10)
        #expect(dead.count == 1)
        #expect(dead[0].origin.reason == .maxDeliveries)
        #expect(dead[0].origin.deliveries == 3)
        #expect(dead[0].origin.failures.map(\.delivery) == [1, 2, 3])
        #expect(dead[0].origin.failures.allSatisfy { $0.kind == .leaseExpired && $0.consumer == consumer("c1") })
        #expect(dead[0].body == bytes("poison"))
        #expect(t.fetch().isEmpty)
    }

    @Test func aNackOfTheLastDelivery_deadLettersIt_asMaxDeliveries() {
        var t = TestPartition { $0.maxDeliveries = 2 }
        t.publish("a")
        _ = t.nack(t.fetch())
        #expect(t.nack(t.fetch()) == [.deadLettered(.maxDeliveries)])
    }

    @Test func aRejectingNack_deadLettersAtOnce() {
        var t = TestPartition()
        t.publish("a")
        #expect(t.nack(t.fetch(), deadLetter: true) == [.deadLettered(.rejected)])
        #expect(t.partition.deadLetters(limit: 1).first?.origin.failures.map(\.kind) == [.nacked])
    }

    @Test func aRedrive_returnsDeadLettersOldestFirst_withAFreshAllowance_whileTheCountKeepsGrowing() {
        var t = TestPartition { $0.maxDeliveries = 1 }
        t.publish("a", "b", "c")
        _ = t.nack(t.fetch(), deadLetter: false)
        #expect(t.partition.stats.deadLetters == 3)
        #expect(t.apply(.redrive(maxMessages: 2)) == .count(2))
        let again = t.fetch()
        #expect(again.map(\.text) == ["a", "b"])
        #expect(again.map(\.deliveries) == [2, 2])
        #expect(t.nack(again) == [.deadLettered(.maxDeliveries), .deadLettered(.maxDeliveries)])
        guard case .invalid = t.apply(.redrive(maxMessages: 0)) else { Issue.record("redrive of 0 accepted"); return }
    }

    @Test func aMoveToTheDeadLetterQueue_carriesTheOrigin_underAStableProducerID_thenTheDropForgetsIt() {
        var t = TestPartition { $0.maxDeliveries = 1 }
        t.publish("a", key: "k", id: "p")
        _ = t.nack(t.fetch())
        let view = t.partition.deadLetters(limit: 10)[0]
        let moved = view.transfer
        #expect(moved.producerID == pid("dl/orders/0/1"))
        #expect(moved.key == key("k"))
        #expect(moved.origin?.partition == PartitionID(queue: queue("orders"), index: 0))
        #expect(t.apply(.dropDeadLetters([1, 1, 99])) == .count(1))
        #expect(t.partition.stats.messages == 0)

        var dlq = TestPartition()
        #expect(dlq.publish([moved, moved]) == [.stored(offset: 1), .duplicate(offset: 1)])
        #expect(dlq.fetch().first?.origin == moved.origin)
    }

    @Test func aDropOfALiveMessage_doesNothing() {
        var t = TestPartition()
        t.publish("a")
        #expect(t.apply(.dropDeadLetters([1])) == .count(0))
        #expect(t.partition.stats.ready == 1)
    }

    @Test(arguments: [(PurgeScope.live, 2, 1), (.deadLetters, 1, 2), (.all, 3, 0)])
    func aPurge_deletesWhatItsScopeNames(_ scope: PurgeScope, _ deleted: Int, _ left: Int) {
        var t = TestPartition()
        t.publish("a", "b", "c")
        _ = t.nack(t.fetch(1), deadLetter: true)
        _ = t.fetch(1)
        #expect(t.apply(.purge(scope)) == .count(deleted))
        #expect(t.partition.stats.messages == left)
    }
}
