import Testing
@testable import ChorusQueue

@Suite struct SettingsTests {
    @Test func defaults_validate_andHoldTheDocumentedValues() throws {
        let s = QueueSettings()
        try s.validate()
        #expect(s.partitions == 8)
        #expect(s.visibilityTimeoutMillis == 30_000)
        #expect(s.maxDeliveries == 5)
        #expect(s.dedupWindowMillis == 120_000)
        #expect(s.maxMessageBytes == 1 << 20)
        #expect(s.fifoPerKey == false)
        #expect(s.deadLetterQueue == nil)
    }

    static let broken: [(String, @Sendable (inout QueueSettings) -> Void)] = [
        ("partitions", { $0.partitions = 0 }),
        ("partitions", { $0.partitions = 2_000 }),
        ("visibility_timeout_ms", { $0.visibilityTimeoutMillis = 0 }),
        ("visibility_timeout_ms", { $0.visibilityTimeoutMillis = $0.maxVisibilityTimeoutMillis + 1 }),
        ("max_visibility_timeout_ms", { $0.maxVisibilityTimeoutMillis = 100_000_000 }),
        ("max_deliveries", { $0.maxDeliveries = 0 }),
        ("max_message_bytes", { $0.maxMessageBytes = QueueSettings.messageBytesCeiling + 1 }),
        ("max_length", { $0.maxLength = 3 }),
        ("max_bytes", { $0.maxBytes = 1 << 20 }),
        ("dedup_window_ms", { $0.dedupWindowMillis = 1 << 40 }),
        ("max_dedup_ids", { $0.maxDedupIDs = 0 }),
        ("redelivery_backoff_ms", { $0.redeliveryBackoffMillis = $0.maxRedeliveryBackoffMillis + 1 }),
        ("max_nack_delay_ms", { $0.maxNackDelayMillis = 1 << 40 }),
        ("max_fetch_messages", { $0.maxFetchMessages = 0 }),
    ]

    @Test(arguments: 0..<broken.count)
    func anInvalidSetting_isRefused_withAMessageNamingIt(_ i: Int) {
        let (name, breakIt) = SettingsTests.broken[i]
        var s = QueueSettings()
        breakIt(&s)
        #expect(throws: QueueSettingsError.self) { try s.validate() }
        do { try s.validate() } catch { #expect(error.message.contains(name), "\(error.message)") }
    }

    @Test func partitionShares_roundUp_soTheWholeQueueHoldsAtLeastItsLimit() {
        var s = QueueSettings()
        s.partitions = 3
        s.maxLength = 10
        s.maxBytes = 10 << 20
        #expect(s.partitionMaxLength == 4)
        #expect(s.partitionMaxBytes == (10 << 20) / 3 + 1)
    }

    @Test func redeliveryDelay_doublesPerDelivery_upToItsCap() {
        let s = QueueSettings()
        #expect((1...8).map { s.redeliveryDelayMillis(afterDeliveries: $0) } == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000])
        #expect(s.redeliveryDelayMillis(afterDeliveries: .max) == 60_000)
    }

    @Test func names_keys_andIds_refuseEmptyOverlongAndControlText() {
        #expect(throws: QueueInputError.self) { try QueueName("") }
        #expect(throws: QueueInputError.self) { try QueueName("a/b") }
        #expect(throws: QueueInputError.self) { try QueueName(String(repeating: "q", count: 81)) }
        #expect(throws: QueueInputError.self) { try MessageKey("a\u{7}") }
        #expect(throws: QueueInputError.self) { try ProducerMessageID(String(repeating: "p", count: 129)) }
        #expect(throws: QueueInputError.self) { try ConsumerID("") }
        #expect((try? QueueName("orders.fifo-2_x")) != nil)
        #expect(PartitionID(queue: queue("orders"), index: 3).placementKey == "orders/3")
        #expect(LeaseReceipt(parsing: "17.2") == LeaseReceipt(offset: 17, delivery: 2))
        #expect(LeaseReceipt(parsing: "17.") == nil)
    }
}
