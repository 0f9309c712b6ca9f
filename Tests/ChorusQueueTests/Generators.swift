import ChorusBase
@testable import ChorusQueue

/// Random well-formed values of every codec type, from a seeded generator.
struct ValueGenerator {
    var rng: SeededRandom

    mutating func number() -> UInt64 { rng.below(4) == 0 ? rng.next() : UInt64(rng.below(100_000)) }
    mutating func small(_ bound: Int) -> Int { rng.below(bound) }
    mutating func chance(_ oneIn: Int) -> Bool { rng.below(oneIn) == 0 }

    /// 1…`maxBytes` bytes of UTF-8, with multi-byte characters, never cut inside one.
    mutating func text(_ maxBytes: Int) -> String {
        let pieces: [String] = ["a", "b", "z", "-", "_", ".", "0", "9", "é", "ü", "✓", " "]
        let target = 1 + rng.below(maxBytes)
        var text = "q"
        while true {
            let piece = pieces[rng.below(pieces.count)]
            guard text.utf8.count + piece.utf8.count <= target else { return text }
            text += piece
        }
    }
    mutating func name() -> QueueName { queue(String(text(20).map { $0.isASCII && $0 != " " ? $0 : "q" })) }
    mutating func keyValue() -> MessageKey { key(text(chance(2) ? 6 : MessageKey.maxBytes)) }
    mutating func producer() -> ProducerMessageID { pid(text(chance(2) ? 8 : ProducerMessageID.maxBytes)) }
    mutating func consumerValue() -> ConsumerID { consumer(text(chance(2) ? 4 : ConsumerID.maxBytes)) }
    mutating func body() -> [UInt8] { (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    mutating func receipt() -> LeaseReceipt { LeaseReceipt(offset: number(), delivery: UInt32(truncatingIfNeeded: number())) }
    mutating func receipts() -> [LeaseReceipt] { (0..<rng.below(5)).map { _ in receipt() } }

    mutating func failure() -> DeliveryFailure {
        DeliveryFailure(delivery: UInt32(rng.below(10)), kind: chance(2) ? .leaseExpired : .nacked, atMillis: number(), consumer: consumerValue())
    }
    mutating func origin() -> DeadLetterOrigin {
        DeadLetterOrigin(partition: PartitionID(queue: name(), index: UInt16(rng.below(1_024))), offset: number(),
                         reason: chance(2) ? .maxDeliveries : .rejected, deliveries: UInt32(rng.below(10)),
                         failures: (0..<rng.below(4)).map { _ in failure() })
    }
    mutating func message() -> OutgoingMessage {
        OutgoingMessage(body: body(), key: chance(2) ? keyValue() : nil, producerID: chance(2) ? producer() : nil,
                        origin: chance(5) ? origin() : nil)
    }

    mutating func command() -> QueueCommand {
        switch rng.below(9) {
        case 0: return .publish((0..<rng.below(4)).map { _ in message() })
        case 1: return .fetch(consumer: consumerValue(), maxMessages: rng.below(2_000), maxBytes: rng.below(1 << 20),
                              visibilityMillis: number())
        case 2: return .extend(receipts(), millis: number())
        case 3: return .ack(receipts())
        case 4: return .nack(receipts(), delayMillis: number(), deadLetter: chance(2))
        case 5: return .tick
        case 6: return .redrive(maxMessages: rng.below(100))
        case 7: return .dropDeadLetters((0..<rng.below(5)).map { _ in number() })
        default: return .purge([PurgeScope.live, .deadLetters, .all][rng.below(3)])
        }
    }
    mutating func entry() -> QueueEntry { QueueEntry(nowMillis: number(), command: command()) }

    mutating func settings() -> QueueSettings {
        var s = QueueSettings()
        s.partitions = 1 + rng.below(16)
        s.maxDeliveries = 1 + rng.below(10)
        s.fifoPerKey = chance(2)
        s.deadLetterQueue = chance(3) ? name() : nil
        s.visibilityTimeoutMillis = UInt64(1 + rng.below(60_000))
        return s
    }
    mutating func catalogueEntry() -> CatalogueEntry {
        CatalogueEntry(nowMillis: number(), command: chance(2) ? .create(name(), settings()) : .delete(name()))
    }

    mutating func reply() -> QueueReply {
        switch rng.below(6) {
        case 0: return .published((0..<rng.below(4)).map { _ in
            [PublishOutcome.stored(offset: number()), .duplicate(offset: number()), .refused(.bytesFull)][rng.below(3)] })
        case 1: return .delivered((0..<rng.below(3)).map { _ in
            let m = message()
            return Delivery(receipt: receipt(), key: m.key, producerID: m.producerID, body: m.body,
                            publishedAtMillis: number(), leaseDeadlineMillis: number(), origin: m.origin) })
        case 2: return .settled((0..<rng.below(5)).map { _ in
            [SettleOutcome.acked, .extended(deadlineMillis: number()), .requeued(availableAtMillis: number()),
             .deadLettered(.rejected), .leaseLost, .notFound][rng.below(6)] })
        case 3: return .ticked
        case 4: return .count(rng.below(1_000))
        default: return .invalid(text(40))
        }
    }

    mutating func catalogueReply() -> CatalogueReply {
        let info = QueueInfo(name: name(), settings: settings(), incarnation: number(), createdAtMillis: number())
        switch rng.below(9) {
        case 0: return .created(info)
        case 1: return .exists(info)
        case 2: return .conflict(info)
        case 3: return .deleted(info)
        case 4: return .notFound(name())
        case 5: return .inUse(by: (0..<rng.below(3)).map { _ in name() })
        case 6: return .deadLetterQueueMissing(name())
        case 7: return .full(limit: rng.below(10_000))
        default: return .invalid(text(30))
        }
    }

    /// Flips, overwrites, deletes, inserts or truncates a few bytes.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.below(3)) {
            if bytes.isEmpty { return bytes }
            switch rng.below(5) {
            case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
            case 2: bytes.remove(at: rng.below(bytes.count))
            case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
            default: bytes = Array(bytes[..<rng.below(bytes.count + 1)])
            }
        }
        return bytes
    }

    mutating func noise(prefix: [UInt8]) -> [UInt8] {
        var bytes = (0..<rng.below(48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for (i, b) in prefix.enumerated() where i < bytes.count && chance(2) { bytes[i] = b }
        return bytes
    }
}
