import ChorusBase
import ChorusQueue
import ChorusSim
import Testing
@testable import ChorusNode

/// Dead letters on whole nodes: a message rejected or delivered too often leaves its
/// partition for the queue's dead-letter queue, with where it died and why, and is fetched
/// there like any message.
@Suite struct NodeDeadLetterTests {
    @Test func rejectedAndExpiredMessages_moveToTheDeadLetterQueue() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 11)
        #expect(c.settle())
        let dead = try QueueName("dead"), work = try QueueName("work")
        var d = QueueSettings(); d.partitions = 2
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(dead, d), at: 0) else { Issue.record("dead-letter queue not created"); return }
        var w = QueueSettings(); w.partitions = 4; w.maxDeliveries = 1; w.deadLetterQueue = dead
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(work, w), at: 1) else { Issue.record("queue not created"); return }
        let consumer = try ConsumerID("c")
        guard case .queuePublished? = c.ask(.queuePublish(work, [OutgoingMessage(body: Array("rejected".utf8), key: try MessageKey("a")),
                                                                OutgoingMessage(body: Array("expired".utf8), key: try MessageKey("b"))]), at: 2)
        else { Issue.record("publish"); return }
        var delivered: [QueueDelivery] = []
        for _ in 0..<10 where delivered.count < 2 {
            guard case let .queueDelivered(list)? = c.ask(.queueFetch(work, consumer: consumer, maxMessages: 2, maxBytes: 0, visibilityMillis: 300, waitMillis: 500), at: 0)
            else { Issue.record("fetch"); return }
            delivered += list
        }
        #expect(delivered.count == 2)
        // One is rejected by the consumer; the other's only allowed lease runs out.
        guard let rejected = delivered.first(where: { $0.delivery.body == Array("rejected".utf8) }) else { Issue.record("no rejected"); return }
        guard case let .queueSettled(outcomes)? = c.ask(.queueSettle(work, [rejected.receipt], .nack(delayMillis: 0, deadLetter: true)), at: 1)
        else { Issue.record("nack"); return }
        #expect(outcomes == [.deadLettered(.rejected)])
        var moved: [QueueDelivery] = []
        for _ in 0..<20 where moved.count < 2 {
            guard case let .queueDelivered(list)? = c.ask(.queueFetch(dead, consumer: consumer, maxMessages: 2, maxBytes: 0, visibilityMillis: 0, waitMillis: 1_000), at: 2)
            else { Issue.record("fetch from the dead-letter queue"); return }
            moved += list
        }
        let byBody = Dictionary(moved.map { (String(decoding: $0.delivery.body, as: UTF8.self), $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byBody.keys.sorted() == ["expired", "rejected"])
        #expect(byBody["rejected"]?.delivery.origin?.reason == .rejected)
        #expect(byBody["expired"]?.delivery.origin?.reason == .maxDeliveries)
        #expect(byBody["expired"]?.delivery.origin?.failures.first?.kind == .leaseExpired)
        #expect(byBody["rejected"]?.delivery.origin?.partition.queue == work)
        #expect(byBody["rejected"]?.delivery.key == (try MessageKey("a")))
        // They left the source partitions.
        var left = -1
        for _ in 0..<20 where left != 0 {
            guard case let .queueStatistics(stats)? = c.ask(.queueStats(work), at: 0) else { Issue.record("stats"); return }
            left = stats.partitions.compactMap { $0 }.reduce(0) { $0 + $1.messages }
            c.run(for: .milliseconds(200))
        }
        #expect(left == 0)

        // A redrive of the source queue brings them back from the dead-letter queue (once
        // the dead-letter queue's consumer gave them back).
        guard case .queueSettled? = c.ask(.queueSettle(dead, moved.map(\.receipt), .nack(delayMillis: 0, deadLetter: false)), at: 0)
        else { Issue.record("return to the dead-letter queue"); return }
        let redriven = c.ask(.queueRedrive(work, maxMessages: 10), at: 1)
        #expect(redriven == .queueCount(2))
        var back: [QueueDelivery] = []
        for _ in 0..<10 where back.count < 2 {
            guard case let .queueDelivered(list)? = c.ask(.queueFetch(work, consumer: consumer, maxMessages: 2, maxBytes: 0, visibilityMillis: 0, waitMillis: 500), at: 2)
            else { Issue.record("fetch after redrive"); return }
            back += list
        }
        #expect(Set(back.map { String(decoding: $0.delivery.body, as: UTF8.self) }) == ["expired", "rejected"])
        #expect(back.allSatisfy { $0.delivery.deliveries == 1 && $0.delivery.origin == nil })
        guard case let .queueStatistics(deadStats)? = c.ask(.queueStats(dead), at: 0) else { Issue.record("stats of the dead-letter queue"); return }
        #expect(deadStats.partitions.compactMap { $0 }.reduce(0) { $0 + $1.messages } == 0)
    }

    @Test func withoutADeadLetterQueue_deadLettersAreListedInPlace() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 12)
        #expect(c.settle())
        let q = try QueueName("plain")
        var s = QueueSettings(); s.partitions = 3
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(q, s), at: 0) else { Issue.record("not created"); return }
        guard case .queuePublished? = c.ask(.queuePublish(q, [OutgoingMessage(body: Array("poison".utf8), key: try MessageKey("p"))]), at: 1)
        else { Issue.record("publish"); return }
        guard case let .queueDelivered(list)? = c.ask(.queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 1, maxBytes: 0, visibilityMillis: 0, waitMillis: 500), at: 2),
              list.count == 1 else { Issue.record("fetch"); return }
        _ = c.ask(.queueSettle(q, list.map(\.receipt), .nack(delayMillis: 0, deadLetter: true)), at: 0)
        guard case let .queueDeadLetters(letters)? = c.ask(.queueDeadLetters(q, limit: 10), at: 1) else { Issue.record("list"); return }
        #expect(letters.count == 1)
        #expect(letters.first?.letter.body == Array("poison".utf8))
        #expect(letters.first?.letter.origin.reason == .rejected)
        #expect(letters.first?.partition == list[0].partition)
        #expect(c.ask(.queueRedrive(q, maxMessages: 10), at: 2) == .queueCount(1))
        guard case let .queueDeadLetters(after)? = c.ask(.queueDeadLetters(q, limit: 10), at: 1) else { Issue.record("list"); return }
        #expect(after.isEmpty)
    }
}
