import ChorusBase
import ChorusWire
import Testing
@testable import ChorusQueue

func queue(_ s: String) -> QueueName { try! QueueName(s) }
func key(_ s: String) -> MessageKey { try! MessageKey(s) }
func pid(_ s: String) -> ProducerMessageID { try! ProducerMessageID(s) }
func consumer(_ s: String) -> ConsumerID { try! ConsumerID(s) }
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

typealias MemoryPartition = QueuePartition<MemoryBodyStore>

/// One replica of a partition driven by hand: a Raft index and a leader clock that move on
/// with every entry. Every entry goes through the codec (encode, decode, apply encoded), so
/// each rule test also checks that its commands survive the wire.
struct TestPartition {
    var partition: MemoryPartition
    var index: UInt64 = 0
    var now: UInt64 = 1_000_000

    init(_ configure: (inout QueueSettings) -> Void = { _ in }) {
        var s = QueueSettings()
        s.partitions = 1
        configure(&s)
        partition = try! MemoryPartition(partition: PartitionID(queue: queue("orders"), index: 0), incarnation: 1,
                                         settings: s, bodies: MemoryBodyStore())
    }

    @discardableResult
    mutating func apply(_ command: QueueCommand) -> QueueReply {
        index += 1
        let entry = QueueEntry(nowMillis: now, command: command)
        let encoded = QueueCodec.encode(entry)
        #expect((try? QueueCodec.decodeEntry(encoded)) == entry)
        let reply = partition.apply(encoded: encoded, index: index)
        let problems = partition.invariantViolations()
        #expect(problems.isEmpty, "\(problems)")
        return reply
    }

    mutating func advance(_ millis: UInt64) { now += millis }

    @discardableResult
    mutating func publish(_ messages: [OutgoingMessage]) -> [PublishOutcome] {
        guard case let .published(out) = apply(.publish(messages)) else { Issue.record("publish not answered"); return [] }
        return out
    }

    @discardableResult
    mutating func publish(_ texts: String..., key k: String? = nil, id: String? = nil) -> [PublishOutcome] {
        publish(texts.map { OutgoingMessage(body: bytes($0), key: k.map(key), producerID: id.map(pid)) })
    }

    mutating func fetch(_ n: Int = 10, by who: String = "c1", maxBytes: Int = 0, visibility: UInt64 = 0) -> [Delivery] {
        guard case let .delivered(out) = apply(.fetch(consumer: consumer(who), maxMessages: n, maxBytes: maxBytes,
                                                      visibilityMillis: visibility)) else {
            Issue.record("fetch not answered with deliveries"); return []
        }
        return out
    }

    mutating func settle(_ command: QueueCommand) -> [SettleOutcome] {
        guard case let .settled(out) = apply(command) else { Issue.record("\(command) not answered"); return [] }
        return out
    }

    mutating func ack(_ d: [Delivery]) -> [SettleOutcome] { settle(.ack(d.map(\.receipt))) }
    mutating func nack(_ d: [Delivery], delay: UInt64 = 0, deadLetter: Bool = false) -> [SettleOutcome] {
        settle(.nack(d.map(\.receipt), delayMillis: delay, deadLetter: deadLetter))
    }
    mutating func tick() { _ = apply(.tick) }

    /// Lets every lease and delay run out, one tick at a time.
    mutating func runOutLeases() {
        while let due = partition.nextDeadlineMillis, due <= now + 10 * 3_600_000 {
            now = max(now, due)
            tick()
        }
    }
}

extension Delivery {
    var text: String { String(decoding: body, as: UTF8.self) }
}
