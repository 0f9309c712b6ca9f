import ChorusBase
import ChorusQueue
import ChorusRing
import ChorusRaft
import ChorusSim
import Testing
@testable import ChorusNode

/// The queue service end to end on three whole nodes in the simulator: create from any node,
/// publish routed by partition, fetch from another node, ack, stats, leases that run out.
@Suite struct NodeQueueServiceTests {
    @Test func createPublishFetchAck_fromDifferentNodes() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 7)
        #expect(c.settle())
        let q = try QueueName("jobs")
        var s = QueueSettings(); s.partitions = 4; s.visibilityTimeoutMillis = 2_000
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(q, s), at: 0) else { Issue.record("not created"); return }
        let messages = (0..<20).map { OutgoingMessage(body: Array("m\($0)".utf8), key: try? MessageKey("k\($0 % 5)")) }
        let published = c.ask(.queuePublish(q, messages), at: 1)
        guard case let .queuePublished(outcomes)? = published else { Issue.record("publish: \(String(describing: published))"); return }
        #expect(outcomes.count == 20 && outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
        var got: [QueueDelivery] = []
        for _ in 0..<20 where got.count < 20 {
            let reply = c.ask(.queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 10, maxBytes: 0, visibilityMillis: 0, waitMillis: 500), at: 2)
            guard case let .queueDelivered(list)? = reply else { Issue.record("fetch: \(String(describing: reply))"); return }
            got += list
        }
        #expect(Set(got.map { String(decoding: $0.delivery.body, as: UTF8.self) }).count == 20)
        let acked = c.ask(.queueSettle(q, got.map(\.receipt), .ack), at: 0)
        guard case let .queueSettled(results)? = acked else { Issue.record("ack: \(String(describing: acked))"); return }
        #expect(results.allSatisfy { $0 == .acked })
        guard case let .queueStatistics(stats)? = c.ask(.queueStats(q), at: 1) else { Issue.record("stats"); return }
        #expect(stats.partitions.compactMap { $0 }.reduce(0) { $0 + $1.messages } == 0)
        #expect(stats.partitions.compactMap { $0 }.reduce(0) { $0 + Int($1.counters.acked) } == 20)
        // A lease that runs out gives the message again (the leader's clock entries).
        _ = c.ask(.queuePublish(q, [OutgoingMessage(body: [1])]), at: 0)
        guard case let .queueDelivered(first)? = c.ask(.queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 1, maxBytes: 0, visibilityMillis: 300, waitMillis: 500), at: 1),
              first.count == 1 else { Issue.record("no first delivery"); return }
        guard case let .queueDelivered(again)? = c.ask(.queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 1, maxBytes: 0, visibilityMillis: 0, waitMillis: 5_000), at: 2),
              again.count == 1 else { Issue.record("no redelivery"); return }
        #expect(again[0].delivery.deliveries == 2)
    }
}

extension NodeQueueServiceTests {
    @Test func queueRequestsAndReplies_roundTripOnThePeerCodec() throws {
        let q = try QueueName("jobs")
        let info = QueueInfo(name: q, settings: QueueSettings(), incarnation: 3, createdAtMillis: 9)
        let requests: [ClientRequest] = [
            .queueCreate(q, QueueSettings()), .queueDelete(q), .queueList, .queueInfo(q),
            .queuePublish(q, [OutgoingMessage(body: [1, 2], key: try MessageKey("k"), producerID: try ProducerMessageID("p"))]),
            .queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 5, maxBytes: 100, visibilityMillis: 7, waitMillis: 9),
            .queueSettle(q, [QueueReceipt(partition: 2, lease: LeaseReceipt(offset: 4, delivery: 1))], .nack(delayMillis: 5, deadLetter: true)),
            .queueStats(q), .queueRedrive(q, maxMessages: 4),
            .queuePartition(info, partition: 1, .command(.ack([LeaseReceipt(offset: 1, delivery: 2)]))),
            .queuePartition(info, partition: 1, .fetchIfReady(consumer: try ConsumerID("c"), maxMessages: 3, maxBytes: 0, visibilityMillis: 0)),
            .queuePartition(info, partition: 7, .stats),
            .queuePartition(info, partition: 2, .deadLetters(limit: 9)), .queueDeadLetters(q, limit: 5),
        ]
        let origin = DeadLetterOrigin(partition: PartitionID(queue: q, index: 2), offset: 7, reason: .maxDeliveries, deliveries: 5,
                                      failures: [DeliveryFailure(delivery: 5, kind: .leaseExpired, atMillis: 99, consumer: try ConsumerID("c"))])
        let letter = DeadLetterView(origin: origin, diedAtMillis: 100, key: try MessageKey("k"), producerID: nil, body: [9, 9],
                                    publishedAtMillis: 3, earlierOrigin: origin)
        let replies: [ClientReply] = [
            .queueCatalogue(.created(info)), .queues([info]), .queue(info), .queuePublished([.stored(offset: 3), .refused(.tooLarge)]),
            .queueSettled([.acked, .leaseLost]), .queueStatistics(QueueStatistics(info: info, partitions: [PartitionStats.empty, nil])),
            .queueCount(4), .queuePartitionReply(.ticked), .queuePartitionStats(PartitionStats.empty),
            .queuePartitionDeadLetters([letter]), .queueDeadLetters([QueueDeadLetter(partition: 2, letter: letter)]),
        ]
        for (i, body) in (requests.map { PeerMessage.Body.request(.client($0)) } + replies.map { PeerMessage.Body.reply(.client($0)) }).enumerated() {
            let m = PeerMessage(callID: UInt64(i), origin: NodeID(1), budgetMillis: 100, body: body)
            #expect(try PeerMessageCodec.decode(PeerMessageCodec.encode(m)) == m, "\(body)")
        }
    }
}

extension NodeQueueServiceTests {
    /// A producer that retries an unkeyed message through other nodes (its first answer was
    /// lost) must get `duplicate`, not a second copy: the id, not a node's rotation, picks
    /// the partition.
    @Test func unkeyedRetryThroughAnotherNode_isADuplicate() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 5)
        #expect(c.settle())
        let q = try QueueName("retries")
        var s = QueueSettings(); s.partitions = 8
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(q, s), at: 0) else { Issue.record("not created"); return }
        for n in 0..<6 {
            let m = OutgoingMessage(body: Array("m\(n)".utf8), producerID: try ProducerMessageID("order-\(n)"))
            var stored = 0
            for attempt in 0..<3 {
                guard case let .queuePublished(outcomes)? = c.ask(.queuePublish(q, [m]), at: (n + attempt) % 3) else {
                    Issue.record("publish"); return
                }
                if case .stored = outcomes.first { stored += 1 }
            }
            #expect(stored == 1, "message \(n) stored \(stored) times")
        }
        guard case let .queueStatistics(stats)? = c.ask(.queueStats(q), at: 1) else { Issue.record("stats"); return }
        #expect(stats.partitions.compactMap { $0 }.reduce(0) { $0 + $1.messages } == 6)
    }
}

extension NodeQueueServiceTests {
    /// A deleted queue leaves nothing behind: every partition's leader drops its state, and
    /// the followers apply the same drop.
    @Test func deletedQueue_keepsNoPartitionState() throws {
        let c = try NodeCluster(nodes: 3, settings: NodeCluster.settings(), seed: 8)
        #expect(c.settle())
        let q = try QueueName("gone")
        var s = QueueSettings(); s.partitions = 6
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(q, s), at: 0) else { Issue.record("not created"); return }
        let messages = (0..<30).map { OutgoingMessage(body: Array("m\($0)".utf8), key: try? MessageKey("k\($0)")) }
        guard case .queuePublished? = c.ask(.queuePublish(q, messages), at: 1) else { Issue.record("publish"); return }
        func held() -> Int {
            c.slots.reduce(0) { sum, slot in
                guard let node = slot.node else { return sum }
                return sum + node.host.order.reduce(0) { n, shard in
                    n + (node.host.machine(of: shard)?.queues.partitions.keys.filter { $0.queue == q }.count ?? 0)
                }
            }
        }
        #expect(held() == 18) // 6 partitions on 3 replicas each
        guard case .queueCatalogue(.deleted)? = c.ask(.queueDelete(q), at: 2) else { Issue.record("not deleted"); return }
        c.run(for: .seconds(2))
        #expect(held() == 0)
    }
}
