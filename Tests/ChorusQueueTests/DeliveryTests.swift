import Testing
@testable import ChorusQueue

@Suite struct DeliveryTests {
    @Test func aFetch_leasesTheLowestOffsetsFirst_andCountsOneDeliveryEach() {
        var t = TestPartition()
        t.publish("a", "b", "c")
        let got = t.fetch(2)
        #expect(got.map(\.text) == ["a", "b"])
        #expect(got.map(\.receipt) == [LeaseReceipt(offset: 1, delivery: 1), LeaseReceipt(offset: 2, delivery: 1)])
        #expect(got.allSatisfy { $0.leaseDeadlineMillis == t.now + 30_000 })
        #expect(t.fetch().map(\.text) == ["c"])
        #expect(t.fetch().isEmpty)
        #expect(t.partition.stats.leased == 3)
    }

    @Test func aByteBound_endsTheBatch_butTheFirstMessageAlwaysGoes() {
        var t = TestPartition()
        t.publish("aaaa", "bb", "c")
        #expect(t.fetch(10, maxBytes: 3).map(\.text) == ["aaaa"])
        #expect(t.fetch(10, maxBytes: 3).map(\.text) == ["bb", "c"])
    }

    @Test(arguments: [0, 1_001])
    func aFetchOfADisallowedCount_isInvalid_andChangesNothing(_ n: Int) {
        var t = TestPartition()
        t.publish("a")
        let before = t.partition.snapshot()
        guard case .invalid = t.apply(.fetch(consumer: consumer("c"), maxMessages: n, maxBytes: 0, visibilityMillis: 0)) else {
            Issue.record("accepted"); return
        }
        let after = t.partition.snapshot()
        #expect(after.count == before.count, "only the applied index moved")
        #expect(t.partition.stats.ready == 1)
    }

    @Test func aLeasedMessage_staysHidden_untilItsLeaseRunsOut_thenComesBackAfterBackoff() {
        var t = TestPartition()
        t.publish("a")
        let first = t.fetch(1, visibility: 5_000)
        t.advance(4_999)
        #expect(t.fetch().isEmpty)
        t.advance(1)
        t.tick()
        #expect(t.partition.stats.delayed == 1)
        #expect(t.fetch().isEmpty, "backoff of 1 s after the first delivery")
        t.advance(1_000)
        let second = t.fetch()
        #expect(second.map(\.receipt) == [LeaseReceipt(offset: 1, delivery: 2)])
        #expect(t.ack(first) == [.leaseLost], "the first lease ran out")
        #expect(t.ack(second) == [.acked])
        #expect(t.partition.counters.leasesExpired == 1)
        #expect(t.partition.counters.redeliveries == 1)
    }

    @Test func anAck_removesTheMessageForGood_andARetriedAck_isNotFound() {
        var t = TestPartition()
        t.publish("a")
        let d = t.fetch()
        #expect(t.ack(d) == [.acked])
        #expect(t.ack(d) == [.notFound])
        t.runOutLeases()
        #expect(t.fetch().isEmpty)
        #expect(t.partition.stats.messages == 0)
        #expect(t.partition.bodies.count == 0)
    }

    @Test func aNackWithoutDelay_makesItDeliverableAtOnce_andWithADelay_afterIt() {
        var t = TestPartition()
        t.publish("a", "b")
        let d = t.fetch()
        #expect(t.nack([d[0]]) == [.requeued(availableAtMillis: t.now)])
        #expect(t.nack([d[1]], delay: 500) == [.requeued(availableAtMillis: t.now + 500)])
        #expect(t.fetch().map(\.text) == ["a"])
        t.advance(500)
        #expect(t.fetch().map(\.receipt) == [LeaseReceipt(offset: 2, delivery: 2)])
    }

    @Test func aNackDelay_isCappedAtTheLongestAllowed() {
        var t = TestPartition { $0.maxNackDelayMillis = 1_000 }
        t.publish("a")
        #expect(t.nack(t.fetch(), delay: 1 << 40) == [.requeued(availableAtMillis: t.now + 1_000)])
    }

    @Test func anExtend_movesTheDeadline_soTheLeaseOutlivesItsFirstDeadline() {
        var t = TestPartition()
        t.publish("a")
        let d = t.fetch(visibility: 1_000)
        t.advance(900)
        #expect(t.settle(.extend(d.map(\.receipt), millis: 10_000)) == [.extended(deadlineMillis: t.now + 10_000)])
        t.advance(5_000)
        t.tick()
        #expect(t.partition.stats.leased == 1)
        #expect(t.ack(d) == [.acked])
    }

    @Test func anExtendAfterTheLeaseRanOut_isLeaseLost() {
        var t = TestPartition()
        t.publish("a")
        let d = t.fetch(visibility: 1_000)
        t.advance(1_000)
        #expect(t.settle(.extend(d.map(\.receipt), millis: 1_000)) == [.leaseLost])
        guard case .invalid = t.apply(.extend(d.map(\.receipt), millis: 0)) else { Issue.record("extend by 0 accepted"); return }
    }

    @Test func theClock_neverGoesBack_whenANewLeaderStampsAnEarlierTime() {
        var t = TestPartition()
        t.publish("a")
        let d = t.fetch(visibility: 1_000)
        t.advance(2_000)
        t.tick()
        t.now -= 1_500 // the next leader's clock is behind
        #expect(t.ack(d) == [.leaseLost])
        #expect(t.partition.clockMillis == t.now + 1_500)
    }

    @Test func messagesOfOneKey_areFirstDeliveredInPublishOrder_acrossBatches() {
        var t = TestPartition()
        for i in 0..<20 { t.publish("m\(i)", key: i % 2 == 0 ? "even" : "odd") }
        var seen: [String] = []
        while case let got = t.fetch(3), !got.isEmpty { seen += got.map(\.text); _ = t.ack(got) }
        #expect(seen == (0..<20).map { "m\($0)" })
    }

    @Test func theNextDeadline_namesTheEarliestLeaseOrDelay() {
        var t = TestPartition()
        #expect(t.partition.nextDeadlineMillis == nil)
        t.publish("a", "b")
        _ = t.fetch(1, visibility: 7_000)
        _ = t.nack(t.fetch(1), delay: 3_000)
        #expect(t.partition.nextDeadlineMillis == t.now + 3_000)
    }
}
