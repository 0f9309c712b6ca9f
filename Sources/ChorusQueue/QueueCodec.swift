import ChorusWire

/// The binary form of queue partition entries (Raft entry payloads). Integers are varints
/// unless a width is given; text is a varint length then UTF-8; a body is a varint length
/// then bytes.
///
/// ```
/// entry    = version u8 = 1 · nowMillis · kind u8 · body
/// 1 publish          count · message*
/// 2 fetch            consumer · maxMessages · maxBytes · visibilityMillis
/// 3 extend           count · receipt* · millis
/// 4 ack              count · receipt*
/// 5 nack             count · receipt* · delayMillis · deadLetter u8 (0 | 1)
/// 6 tick
/// 7 redrive          maxMessages
/// 8 dropDeadLetters  count · offset*
/// 9 purge            scope u8 (1 live, 2 dead letters, 3 all)
/// message  = flags u8 (1 producer id, 2 key, 4 origin) · [producerID] · [key] · body · [origin]
/// receipt  = offset · delivery
/// origin   = queue · partition u16 · offset · reason u8 · deliveries · count · failure*
/// failure  = delivery · kind u8 · atMillis · consumer
/// ```
///
/// Invariant: `decodeEntry` is total — any bytes give an entry whose every field passed its
/// validation, or a `WireError`; it never traps, allocates no more than the input's own
/// length, and what it accepts re-encodes to bytes that decode to the same entry.
public enum QueueCodec {
    public static let version: UInt8 = 1

    enum Kind: UInt8 {
        case publish = 1, fetch, extend, ack, nack, tick, redrive, dropDeadLetters, purge
    }

    public static func encode(_ entry: QueueEntry) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u8(version)
        w.varint(entry.nowMillis)
        switch entry.command {
        case let .publish(messages):
            w.u8(Kind.publish.rawValue)
            w.varint(UInt64(messages.count))
            for m in messages { encode(m, into: &w) }
        case let .fetch(consumer, maxMessages, maxBytes, visibility):
            w.u8(Kind.fetch.rawValue)
            w.string(consumer.text); w.varint(UInt64(maxMessages)); w.varint(UInt64(maxBytes)); w.varint(visibility)
        case let .extend(receipts, millis):
            w.u8(Kind.extend.rawValue)
            encode(receipts, into: &w); w.varint(millis)
        case let .ack(receipts):
            w.u8(Kind.ack.rawValue)
            encode(receipts, into: &w)
        case let .nack(receipts, delay, deadLetter):
            w.u8(Kind.nack.rawValue)
            encode(receipts, into: &w); w.varint(delay); w.u8(deadLetter ? 1 : 0)
        case .tick:
            w.u8(Kind.tick.rawValue)
        case let .redrive(maxMessages):
            w.u8(Kind.redrive.rawValue)
            w.varint(UInt64(maxMessages))
        case let .dropDeadLetters(offsets):
            w.u8(Kind.dropDeadLetters.rawValue)
            w.varint(UInt64(offsets.count))
            for o in offsets { w.varint(o) }
        case let .purge(scope):
            w.u8(Kind.purge.rawValue)
            w.u8(scope.rawValue)
        }
        return w.bytes
    }

    public static func decodeEntry(_ bytes: [UInt8]) throws(WireError) -> QueueEntry {
        var r = ByteReader(bytes)
        let (now, k) = try entryHeader(&r, "queue entry")
        guard let kind = Kind(rawValue: k) else { throw WireError.invalid(field: "queue entry kind", reason: "\(k)") }
        let command: QueueCommand
        switch kind {
        case .publish:
            var messages: [OutgoingMessage] = []
            for _ in 0..<(try r.count("messages", limit: r.remaining)) { messages.append(try message(&r)) }
            command = .publish(messages)
        case .fetch:
            let consumer = try text(&r, "consumer id", ConsumerID.init)
            let maxMessages = try r.count("max messages", limit: Int(Int32.max))
            let maxBytes = try r.count("max bytes", limit: 1 << 50)
            command = .fetch(consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes, visibilityMillis: try r.varint())
        case .extend:
            let receipts = try self.receipts(&r)
            command = .extend(receipts, millis: try r.varint())
        case .ack:
            command = .ack(try receipts(&r))
        case .nack:
            let receipts = try self.receipts(&r), delay = try r.varint()
            command = .nack(receipts, delayMillis: delay, deadLetter: try flag(&r, "dead letter flag"))
        case .tick:
            command = .tick
        case .redrive:
            command = .redrive(maxMessages: try r.count("redrive max", limit: Int(Int32.max)))
        case .dropDeadLetters:
            var offsets: [UInt64] = []
            for _ in 0..<(try r.count("offsets", limit: r.remaining)) { offsets.append(try r.varint()) }
            command = .dropDeadLetters(offsets)
        case .purge:
            let raw = try r.u8()
            guard let scope = PurgeScope(rawValue: raw) else { throw WireError.invalid(field: "purge scope", reason: "\(raw)") }
            command = .purge(scope)
        }
        try r.expectEnd()
        return QueueEntry(nowMillis: now, command: command)
    }
}

// MARK: fields shared by entries, replies and snapshots

extension QueueCodec {
    /// The front of every entry of this module: version, then the leader's clock, then the kind.
    static func entryHeader(_ r: inout ByteReader, _ what: String) throws(WireError) -> (nowMillis: UInt64, kind: UInt8) {
        let v = try r.u8()
        guard v == version else { throw WireError.invalid(field: "\(what) version", reason: "\(v)") }
        let now = try r.varint()
        return (now, try r.u8())
    }

    public static func encode(_ m: OutgoingMessage, into w: inout ByteWriter) {
        w.u8((m.producerID == nil ? 0 : 1) | (m.key == nil ? 0 : 2) | (m.origin == nil ? 0 : 4))
        if let id = m.producerID { w.string(id.text) }
        if let key = m.key { w.string(key.text) }
        w.blob(m.body)
        if let origin = m.origin { encode(origin, into: &w) }
    }

    public static func message(_ r: inout ByteReader) throws(WireError) -> OutgoingMessage {
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw WireError.invalid(field: "message flags", reason: "\(flags)") }
        let id = flags & 1 == 0 ? nil : try text(&r, "producer message id", ProducerMessageID.init(_:))
        let key = flags & 2 == 0 ? nil : try text(&r, "message key", MessageKey.init)
        let body = try r.blob("message body", limit: QueueSettings.messageBytesCeiling)
        let origin = flags & 4 == 0 ? nil : try self.origin(&r)
        return OutgoingMessage(body: body, key: key, producerID: id, origin: origin)
    }

    static func encode(_ receipts: [LeaseReceipt], into w: inout ByteWriter) {
        w.varint(UInt64(receipts.count))
        for receipt in receipts { encode(receipt, into: &w) }
    }

    static func encode(_ receipt: LeaseReceipt, into w: inout ByteWriter) {
        w.varint(receipt.offset); w.varint(UInt64(receipt.delivery))
    }

    static func receipts(_ r: inout ByteReader) throws(WireError) -> [LeaseReceipt] {
        var out: [LeaseReceipt] = []
        for _ in 0..<(try r.count("receipts", limit: r.remaining)) { out.append(try receipt(&r)) }
        return out
    }

    static func receipt(_ r: inout ByteReader) throws(WireError) -> LeaseReceipt {
        let offset = try r.varint()
        return LeaseReceipt(offset: offset, delivery: try delivery(&r))
    }

    static func delivery(_ r: inout ByteReader) throws(WireError) -> UInt32 {
        let v = try r.varint()
        guard v <= UInt64(UInt32.max) else { throw WireError.invalid(field: "delivery number", reason: "\(v) beyond 32 bits") }
        return UInt32(v)
    }

    static func encode(_ o: DeadLetterOrigin, into w: inout ByteWriter) {
        w.string(o.partition.queue.text); w.u16(o.partition.index); w.varint(o.offset)
        w.u8(o.reason.rawValue); w.varint(UInt64(o.deliveries))
        encode(o.failures, into: &w)
    }

    static func origin(_ r: inout ByteReader) throws(WireError) -> DeadLetterOrigin {
        let queue = try text(&r, "queue name", QueueName.init)
        let index = try r.u16(), offset = try r.varint()
        let raw = try r.u8()
        guard let reason = DeadLetterReason(rawValue: raw) else { throw WireError.invalid(field: "dead letter reason", reason: "\(raw)") }
        let deliveries = try delivery(&r)
        return DeadLetterOrigin(partition: PartitionID(queue: queue, index: index), offset: offset, reason: reason,
                                deliveries: deliveries, failures: try failures(&r))
    }

    static func encode(_ failures: [DeliveryFailure], into w: inout ByteWriter) {
        w.varint(UInt64(failures.count))
        for f in failures { w.varint(UInt64(f.delivery)); w.u8(f.kind.rawValue); w.varint(f.atMillis); w.string(f.consumer.text) }
    }

    static func failures(_ r: inout ByteReader) throws(WireError) -> [DeliveryFailure] {
        var out: [DeliveryFailure] = []
        for _ in 0..<(try r.count("failures", limit: DeliveryFailure.kept)) {
            let d = try delivery(&r), raw = try r.u8()
            guard let kind = DeliveryFailure.Kind(rawValue: raw) else { throw WireError.invalid(field: "failure kind", reason: "\(raw)") }
            let at = try r.varint()
            out.append(DeliveryFailure(delivery: d, kind: kind, atMillis: at, consumer: try text(&r, "consumer id", ConsumerID.init)))
        }
        return out
    }

    /// A validated text value; its rule's message becomes the `WireError`'s reason.
    public static func text<T: QueueText>(_ r: inout ByteReader, _ field: String, _ make: (String) throws(QueueInputError) -> T) throws(WireError) -> T {
        let raw = try r.string(field, limit: T.maxBytes)
        do { return try make(raw) } catch { throw WireError.invalid(field: field, reason: error.description) }
    }

    static func optionalText<T: QueueText>(_ value: T?, into w: inout ByteWriter) {
        if let value { w.u8(1); w.string(value.text) } else { w.u8(0) }
    }

    static func optionalText<T: QueueText>(_ r: inout ByteReader, _ field: String, _ make: (String) throws(QueueInputError) -> T) throws(WireError) -> T? {
        try flag(&r, field) ? try text(&r, field, make) : nil
    }

    static func flag(_ r: inout ByteReader, _ field: String) throws(WireError) -> Bool {
        let raw = try r.u8()
        guard raw <= 1 else { throw WireError.invalid(field: field, reason: "\(raw)") }
        return raw == 1
    }
}
