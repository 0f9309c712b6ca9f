import ChorusQueue
import ChorusWire

/// Tags of the queue service's client requests and replies inside peer messages.
enum QueueWire {
    static let firstTag: UInt8 = 32
    static let lastTag: UInt8 = 47
    static let maxQueues = 10_000
    /// Dead letters listed per partition.
    static let maxDeadLetters = 1_000
}

// The queue service's requests and replies on the peer RPC (tags 32…47). Entries, replies,
// settings and stats use `QueueCodec`'s own total encodings, carried as length-prefixed blobs.
//
// ```
// request 32 create · name · settings   33 delete · name   34 list   35 info · name
//         36 publish · name · count · message*   37 fetch · name · consumer · max · maxBytes · visibility · wait
//         38 settle · name · count · (partition u16 · offset · delivery)* · settlement
//         39 stats · name   40 redrive · name · max   41 partition · info · partition u16 · operation
//         42 dead letters · name · limit
// settlement = u8 1 ack | 2 nack · delay · deadLetter u8 | 3 extend · millis
// operation  = u8 1 command · entry blob | 2 fetchIfReady · consumer · max · maxBytes · visibility | 3 stats
//              | 4 dead letters · limit | 5 drop
// reply   32 catalogue · reply blob   33 queues · count · info*   34 queue · info   35 published · reply blob
//         36 delivered · count · (partition u16 · reply blob)*   37 settled · reply blob
//         38 statistics · info · count · (flag u8 · [stats])*   39 count · n   40 partition reply · blob
//         41 partition stats · stats   42 partition dead letters · count · letter*
//         43 dead letters · count · (partition u16 · letter)*      (letter: QueueCodec's dead letter view)
// ```
extension PeerMessageCodec {
    static func encodeQueueRequest(_ c: ClientRequest, into w: inout ByteWriter) {
        switch c {
        case let .queueCreate(name, settings): w.u8(32); w.string(name.text); QueueCodec.encode(settings, into: &w)
        case let .queueDelete(name): w.u8(33); w.string(name.text)
        case .queueList: w.u8(34)
        case let .queueInfo(name): w.u8(35); w.string(name.text)
        case let .queuePublish(name, messages):
            w.u8(36); w.string(name.text); w.varint(UInt64(messages.count))
            for m in messages { QueueCodec.encode(m, into: &w) }
        case let .queueFetch(name, consumer, maxMessages, maxBytes, visibility, wait):
            w.u8(37); w.string(name.text); w.string(consumer.text)
            w.varint(UInt64(maxMessages)); w.varint(UInt64(maxBytes)); w.varint(visibility); w.varint(wait)
        case let .queueSettle(name, receipts, settlement):
            w.u8(38); w.string(name.text); w.varint(UInt64(receipts.count))
            for r in receipts { w.u16(r.partition); w.varint(r.lease.offset); w.varint(UInt64(r.lease.delivery)) }
            switch settlement {
            case .ack: w.u8(1)
            case let .nack(delay, deadLetter): w.u8(2); w.varint(delay); w.u8(deadLetter ? 1 : 0)
            case let .extend(millis): w.u8(3); w.varint(millis)
            }
        case let .queueStats(name): w.u8(39); w.string(name.text)
        case let .queueRedrive(name, n): w.u8(40); w.string(name.text); w.varint(UInt64(n))
        case let .queuePartition(info, p, op):
            w.u8(41); QueueCodec.encode(info, into: &w); w.u16(p)
            switch op {
            case let .command(command): w.u8(1); w.blob(QueueCodec.encode(QueueEntry(nowMillis: 0, command: command)))
            case let .fetchIfReady(consumer, maxMessages, maxBytes, visibility):
                w.u8(2); w.string(consumer.text); w.varint(UInt64(maxMessages)); w.varint(UInt64(maxBytes)); w.varint(visibility)
            case .stats: w.u8(3)
            case let .deadLetters(limit): w.u8(4); w.varint(UInt64(max(0, limit)))
            case .drop: w.u8(5)
            }
        case let .queueDeadLetters(name, limit): w.u8(42); w.string(name.text); w.varint(UInt64(max(0, limit)))
        default:
            break
        }
    }

    static func decodeQueueRequest(_ tag: UInt8, _ r: inout ByteReader) throws(WireError) -> ClientRequest {
        switch tag {
        case 32:
            let name = try queueName(&r)
            let settings = try QueueCodec.settings(&r)
            do { try settings.validate() } catch { throw .invalid(field: "queue settings", reason: error.message) }
            return .queueCreate(name, settings)
        case 33: return .queueDelete(try queueName(&r))
        case 34: return .queueList
        case 35: return .queueInfo(try queueName(&r))
        case 36:
            let name = try queueName(&r)
            let n = try r.count("messages", limit: min(QueueService.maxBatchMessages, r.remaining))
            var messages: [OutgoingMessage] = []
            for _ in 0..<n { messages.append(try QueueCodec.message(&r)) }
            return .queuePublish(name, messages)
        case 37:
            let name = try queueName(&r)
            let consumer = try QueueCodec.text(&r, "consumer", ConsumerID.init)
            let maxMessages = try r.count("max messages", limit: 1 << 20), maxBytes = try r.count("max bytes", limit: 1 << 40)
            let visibility = try r.varint(), wait = try r.varint()
            return .queueFetch(name, consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes, visibilityMillis: visibility, waitMillis: wait)
        case 38:
            let name = try queueName(&r)
            let n = try r.count("receipts", limit: min(QueueService.maxBatchMessages, r.remaining / 3))
            var receipts: [QueueReceipt] = []
            for _ in 0..<n {
                let p = try r.u16(), offset = try r.varint(), delivery = try r.varint()
                guard delivery <= UInt64(UInt32.max) else { throw .invalid(field: "delivery", reason: "\(delivery)") }
                receipts.append(QueueReceipt(partition: p, lease: LeaseReceipt(offset: offset, delivery: UInt32(delivery))))
            }
            let kind = try r.u8()
            let settlement: QueueSettlement
            switch kind {
            case 1: settlement = .ack
            case 2:
                let delay = try r.varint()
                settlement = .nack(delayMillis: delay, deadLetter: try decodeFlag(&r))
            case 3: settlement = .extend(millis: try r.varint())
            default: throw .invalid(field: "settlement", reason: "\(kind)")
            }
            return .queueSettle(name, receipts, settlement)
        case 39: return .queueStats(try queueName(&r))
        case 40:
            let name = try queueName(&r)
            return .queueRedrive(name, maxMessages: try r.count("max messages", limit: 1 << 30))
        case 42:
            let name = try queueName(&r)
            return .queueDeadLetters(name, limit: try r.count("dead letter limit", limit: QueueWire.maxDeadLetters))
        case 41:
            let info = try QueueCodec.info(&r)
            let p = try r.u16()
            let kind = try r.u8()
            switch kind {
            case 1:
                let entry = try QueueCodec.decodeEntry(try r.blob("queue entry", limit: maxCommandBytes))
                return .queuePartition(info, partition: p, .command(entry.command))
            case 2:
                let consumer = try QueueCodec.text(&r, "consumer", ConsumerID.init)
                let maxMessages = try r.count("max messages", limit: 1 << 20), maxBytes = try r.count("max bytes", limit: 1 << 40)
                return .queuePartition(info, partition: p, .fetchIfReady(consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes,
                                                                          visibilityMillis: try r.varint()))
            case 3: return .queuePartition(info, partition: p, .stats)
            case 4: return .queuePartition(info, partition: p, .deadLetters(limit: try r.count("dead letter limit", limit: QueueWire.maxDeadLetters)))
            case 5: return .queuePartition(info, partition: p, .drop)
            default: throw .invalid(field: "queue operation", reason: "\(kind)")
            }
        default:
            throw .invalid(field: "client request", reason: "unknown tag \(tag)")
        }
    }

    static func encodeQueueReply(_ c: ClientReply, into w: inout ByteWriter) {
        switch c {
        case let .queueCatalogue(reply): w.u8(32); w.blob(QueueCodec.encode(reply))
        case let .queues(infos): w.u8(33); w.varint(UInt64(infos.count)); for i in infos { QueueCodec.encode(i, into: &w) }
        case let .queue(info): w.u8(34); QueueCodec.encode(info, into: &w)
        case let .queuePublished(outcomes): w.u8(35); w.blob(QueueCodec.encode(QueueReply.published(outcomes)))
        case let .queueDelivered(list):
            w.u8(36); w.varint(UInt64(list.count))
            for d in list { w.u16(d.partition); w.blob(QueueCodec.encode(QueueReply.delivered([d.delivery]))) }
        case let .queueSettled(outcomes): w.u8(37); w.blob(QueueCodec.encode(QueueReply.settled(outcomes)))
        case let .queueStatistics(s):
            w.u8(38); QueueCodec.encode(s.info, into: &w); w.varint(UInt64(s.partitions.count))
            for p in s.partitions {
                if let p { w.u8(1); QueueCodec.encode(p, into: &w) } else { w.u8(0) }
            }
        case let .queueCount(n): w.u8(39); w.varint(UInt64(max(0, n)))
        case let .queuePartitionReply(reply): w.u8(40); w.blob(QueueCodec.encode(reply))
        case let .queuePartitionStats(s): w.u8(41); QueueCodec.encode(s, into: &w)
        case let .queuePartitionDeadLetters(list):
            w.u8(42); w.varint(UInt64(list.count)); for v in list { QueueCodec.encode(v, into: &w) }
        case let .queueDeadLetters(list):
            w.u8(43); w.varint(UInt64(list.count)); for d in list { w.u16(d.partition); QueueCodec.encode(d.letter, into: &w) }
        default: break
        }
    }

    static func decodeQueueReply(_ tag: UInt8, _ r: inout ByteReader) throws(WireError) -> ClientReply {
        switch tag {
        case 32: return .queueCatalogue(try QueueCodec.decodeCatalogueReply(try r.blob("catalogue reply", limit: maxCommandBytes)))
        case 33:
            let n = try r.count("queues", limit: min(QueueWire.maxQueues, r.remaining))
            var infos: [QueueInfo] = []
            for _ in 0..<n { infos.append(try QueueCodec.info(&r)) }
            return .queues(infos)
        case 34: return .queue(try QueueCodec.info(&r))
        case 35:
            guard case let .published(o) = try partitionReply(&r) else { throw .invalid(field: "published", reason: "not a publish reply") }
            return .queuePublished(o)
        case 36:
            let n = try r.count("deliveries", limit: min(QueueService.maxBatchMessages * 1_000, r.remaining))
            var list: [QueueDelivery] = []
            for _ in 0..<n {
                let p = try r.u16()
                guard case let .delivered(ds) = try partitionReply(&r), ds.count == 1 else { throw .invalid(field: "delivery", reason: "not one delivery") }
                list.append(QueueDelivery(partition: p, delivery: ds[0]))
            }
            return .queueDelivered(list)
        case 37:
            guard case let .settled(o) = try partitionReply(&r) else { throw .invalid(field: "settled", reason: "not a settle reply") }
            return .queueSettled(o)
        case 38:
            let info = try QueueCodec.info(&r)
            let n = try r.count("partitions", limit: min(QueueSettings.partitionCeiling, r.remaining))
            var stats: [PartitionStats?] = []
            for _ in 0..<n { stats.append(try decodeFlag(&r) ? try QueueCodec.stats(&r) : nil) }
            return .queueStatistics(QueueStatistics(info: info, partitions: stats))
        case 39: return .queueCount(try r.count("count", limit: 1 << 40))
        case 40: return .queuePartitionReply(try partitionReply(&r))
        case 41: return .queuePartitionStats(try QueueCodec.stats(&r))
        case 42:
            let n = try r.count("dead letters", limit: min(QueueWire.maxDeadLetters, r.remaining))
            var list: [DeadLetterView] = []
            for _ in 0..<n { list.append(try QueueCodec.deadLetterView(&r)) }
            return .queuePartitionDeadLetters(list)
        case 43:
            let n = try r.count("dead letters", limit: min(QueueWire.maxDeadLetters * QueueSettings.partitionCeiling, r.remaining))
            var list: [QueueDeadLetter] = []
            for _ in 0..<n {
                let p = try r.u16()
                list.append(QueueDeadLetter(partition: p, letter: try QueueCodec.deadLetterView(&r)))
            }
            return .queueDeadLetters(list)
        default: throw .invalid(field: "client reply", reason: "unknown tag \(tag)")
        }
    }

    static func partitionReply(_ r: inout ByteReader) throws(WireError) -> QueueReply {
        try QueueCodec.decodeReply(try r.blob("partition reply", limit: maxCommandBytes))
    }

    static func queueName(_ r: inout ByteReader) throws(WireError) -> QueueName {
        try QueueCodec.text(&r, "queue name", QueueName.init)
    }
}
