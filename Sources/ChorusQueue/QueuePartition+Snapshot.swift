import ChorusWire

/// The partition's snapshot image, for Raft snapshots and for a replica that joins.
/// Versioned binary, messages in offset order and producer ids oldest first, so equal
/// partitions give equal bytes in every process.
///
/// Bodies are `.inline` (the image is self-contained: what a replica with bodies in memory
/// is sent, and what the digest hashes) or `.external` (each record names its body's size
/// only; the body store must already hold it: the local snapshot of a replica whose bodies
/// are in its own body log, so that the Raft log can be truncated without copying bodies,
/// and the records image of a streamed snapshot, whose bodies follow it).
///
/// ```
/// image    = magic u16 "QP" · version u8 = 1 · bodies u8 (1 inline, 2 external) · queue
///            · index u16 · incarnation · settings · appliedIndex · clockMillis · nextOffset
///            · count · counter* · count · record* · count · (producerID · offset · atMillis)*
/// record   = offset · publishedAt · message · [bodyBytes, when external: the message's
///            body is then empty] · deliveries · allowanceBase · state · failures
/// state    = 1 ready | 2 delayed · until | 3 leased · consumer · deadline | 4 dead · reason u8 · at
/// ```
/// (`message`, `failures` and `settings` as in `QueueCodec`.)
///
/// Invariant: `init(snapshot:bodies:)` is total. It accepts exactly the images of partitions
/// that keep every `QueuePartition` invariant — offsets ascending below `nextOffset`, times
/// no later than the clock (leases and delays after it), delivery counts within the limit
/// for their state, one key holder per key in FIFO mode, the limits kept, producer ids
/// unique, in time order and inside the window — and throws `WireError` for anything else.
extension QueuePartition {
    static var snapshotMagic: UInt16 { 0x5150 } // "QP"
    static var snapshotVersion: UInt8 { 1 }

    public func snapshot(bodies placement: SnapshotBodies = .inline) -> [UInt8] {
        let inline = placement == .inline
        var w = ByteWriter(capacity: 128 + (inline ? storedBytes : 0) + 48 * records.count)
        w.u16(Self.snapshotMagic)
        w.u8(Self.snapshotVersion)
        w.u8(placement.rawValue)
        w.string(partition.queue.text); w.u16(partition.index); w.varint(incarnation)
        QueueCodec.encode(settings, into: &w)
        w.varint(appliedIndex); w.varint(clockMillis); w.varint(nextOffset)
        let totals = counters.all
        w.varint(UInt64(totals.count))
        for c in totals { w.varint(c) }
        w.varint(UInt64(records.count))
        for offset in records.keys.sorted() {
            guard let r = records[offset], let body = inline ? bodies.body(at: offset) : [] else {
                preconditionFailure("the body store lost the body of live message \(offset)")
            }
            w.varint(offset); w.varint(r.publishedAtMillis)
            QueueCodec.encode(OutgoingMessage(body: body, key: r.key, producerID: r.producerID, origin: origins[offset]), into: &w)
            if !inline { w.varint(UInt64(r.bodyBytes)) }
            w.varint(UInt64(r.deliveries)); w.varint(UInt64(r.allowanceBase))
            switch r.state {
            case .ready: w.u8(1)
            case let .delayed(until): w.u8(2); w.varint(until)
            case let .leased(consumer, deadline): w.u8(3); w.string(consumer.text); w.varint(deadline)
            case let .dead(reason, at): w.u8(4); w.u8(reason.rawValue); w.varint(at)
            }
            QueueCodec.encode(r.failures, into: &w)
        }
        let seen = dedup.entries
        w.varint(UInt64(seen.count))
        for s in seen { w.string(s.id.text); w.varint(s.offset); w.varint(s.atMillis) }
        return w.bytes
    }

    /// Restores a partition from `snapshot(bodies:)`'s image. Inline bodies are put into
    /// `bodies` (which should hold none of them); external ones must be in it already, with
    /// the sizes the image names, or the image is refused.
    public init(snapshot bytes: [UInt8], bodies: Bodies) throws(WireError) {
        var r = ByteReader(bytes)
        let magic = try r.u16()
        guard magic == Self.snapshotMagic else { throw Self.fail("queue partition magic", "\(magic)") }
        let version = try r.u8()
        guard version == Self.snapshotVersion else { throw Self.fail("queue partition version", "\(version)") }
        let rawPlacement = try r.u8()
        guard let placement = SnapshotBodies(rawValue: rawPlacement) else { throw Self.fail("body placement", "\(rawPlacement)") }
        let queue = try QueueCodec.text(&r, "queue name", QueueName.init)
        let index = try r.u16(), incarnation = try r.varint()
        let settings = try QueueCodec.settings(&r)
        do {
            self = try QueuePartition(partition: PartitionID(queue: queue, index: index), incarnation: incarnation,
                                      settings: settings, bodies: bodies)
        } catch {
            throw Self.fail("queue partition", error.description)
        }
        appliedIndex = try r.varint()
        clockMillis = try r.varint()
        guard clockMillis <= Self.clockCeilingMillis else { throw Self.fail("clock", "\(clockMillis) beyond the ceiling") }
        nextOffset = try r.varint()
        guard nextOffset >= 1 else { throw Self.fail("next offset", "0") }
        let counted = try r.count("counters", limit: QueueCounters.count)
        guard counted == QueueCounters.count else { throw Self.fail("counters", "\(counted), not \(QueueCounters.count)") }
        var totals: [UInt64] = []
        for _ in 0..<counted { totals.append(try r.varint()) }
        counters = QueueCounters(totals)
        try decodeRecords(&r, inline: placement == .inline)
        floorOffset = records.keys.min() ?? nextOffset
        try decodeDedup(&r)
        try r.expectEnd()
    }

    /// The partition and incarnation an image is of, read from its header alone: a driver
    /// opens that replica's body store before it restores the image into it.
    public static func snapshotIdentity(_ bytes: [UInt8]) throws(WireError) -> (partition: PartitionID, incarnation: UInt64) {
        var r = ByteReader(bytes)
        let magic = try r.u16()
        guard magic == Self.snapshotMagic else { throw Self.fail("queue partition magic", "\(magic)") }
        let version = try r.u8()
        guard version == Self.snapshotVersion else { throw Self.fail("queue partition version", "\(version)") }
        _ = try r.u8()
        let queue = try QueueCodec.text(&r, "queue name", QueueName.init)
        let index = try r.u16(), incarnation = try r.varint()
        return (PartitionID(queue: queue, index: index), incarnation)
    }

    private static func fail(_ field: String, _ reason: String) -> WireError { WireError.invalid(field: field, reason: reason) }

    private mutating func decodeRecords(_ r: inout ByteReader, inline: Bool) throws(WireError) {
        var previous: UInt64 = 0
        for _ in 0..<(try r.count("messages", limit: min(settings.partitionMaxLength, r.remaining))) {
            let offset = try r.varint(), published = try r.varint()
            guard offset > previous, offset < nextOffset else { throw Self.fail("message \(offset)", "offset not ascending below \(nextOffset)") }
            previous = offset
            guard published <= clockMillis else { throw Self.fail("message \(offset)", "published after the clock") }
            let m = try QueueCodec.message(&r)
            var size = m.body.count
            if !inline {
                size = try r.count("body bytes", limit: QueueSettings.messageBytesCeiling)
                guard m.body.isEmpty, bodies.bodyBytes(at: offset) == size else {
                    throw Self.fail("message \(offset)", "external body missing from the body store or of another size")
                }
            }
            guard size <= settings.maxMessageBytes, storedBytes + size <= settings.partitionMaxBytes else {
                throw Self.fail("message \(offset)", "body beyond the message or partition byte limit")
            }
            var record = MessageRecord(offset: offset, key: m.key, producerID: m.producerID, publishedAtMillis: published, bodyBytes: size)
            record.deliveries = try QueueCodec.delivery(&r)
            record.allowanceBase = try QueueCodec.delivery(&r)
            guard record.allowanceBase <= record.deliveries else { throw Self.fail("message \(offset)", "allowance base above deliveries") }
            record.state = try state(&r)
            try check(record)
            record.failures = try QueueCodec.failures(&r)
            try checkHistory(record)
            if settings.fifoPerKey, record.holdsKey, let key = record.key, keyHolders[key] != nil {
                throw Self.fail("message \(offset)", "a second message holding key \(key)")
            }
            insert(record, body: inline ? m.body : nil, origin: m.origin)
        }
    }

    private func state(_ r: inout ByteReader) throws(WireError) -> MessageState {
        let tag = try r.u8()
        switch tag {
        case 1: return .ready
        case 2: return .delayed(untilMillis: try r.varint())
        case 3:
            let consumer = try QueueCodec.text(&r, "consumer id", ConsumerID.init)
            return .leased(consumer: consumer, deadlineMillis: try r.varint())
        case 4:
            let raw = try r.u8()
            guard let reason = DeadLetterReason(rawValue: raw) else { throw Self.fail("dead letter reason", "\(raw)") }
            return .dead(reason, atMillis: try r.varint())
        default:
            throw Self.fail("message state", "\(tag)")
        }
    }

    /// The state's rule for times and delivery counts.
    private func check(_ record: MessageRecord) throws(WireError) {
        let counted = record.deliveriesCounted, limit = UInt32(settings.maxDeliveries)
        let ok: Bool
        switch record.state {
        case .ready:
            ok = counted < limit
        case let .delayed(until):
            ok = counted >= 1 && counted < limit && until > clockMillis
                && until <= clockMillis + max(settings.maxNackDelayMillis, settings.maxRedeliveryBackoffMillis)
        case let .leased(_, deadline):
            ok = counted >= 1 && counted <= limit && deadline > clockMillis
                && deadline <= clockMillis + settings.maxVisibilityTimeoutMillis
        case let .dead(reason, at):
            ok = at <= clockMillis && (reason == .rejected ? counted >= 1 && counted <= limit : counted == limit)
        }
        guard ok else { throw Self.fail("message \(record.offset)", "state \(record.state) with \(counted) of \(limit) deliveries at clock \(clockMillis)") }
    }

    /// Failures name earlier deliveries of this message, one each, in time order.
    private func checkHistory(_ record: MessageRecord) throws(WireError) {
        var lastDelivery: UInt32 = 0, lastAt: UInt64 = 0
        for f in record.failures {
            guard f.delivery > lastDelivery, f.delivery <= record.deliveries, f.atMillis >= lastAt, f.atMillis <= clockMillis else {
                throw Self.fail("message \(record.offset) history", "failure of delivery \(f.delivery) out of order")
            }
            lastDelivery = f.delivery; lastAt = f.atMillis
        }
    }

    private mutating func decodeDedup(_ r: inout ByteReader) throws(WireError) {
        let window = settings.dedupWindowMillis
        var lastAt: UInt64 = 0
        for _ in 0..<(try r.count("producer ids", limit: window == 0 ? 0 : min(settings.maxDedupIDs, r.remaining))) {
            let id = try QueueCodec.text(&r, "producer message id", ProducerMessageID.init(_:))
            let offset = try r.varint(), at = try r.varint()
            guard dedup[id] == nil, offset >= 1, offset < nextOffset, at >= lastAt, at <= clockMillis,
                  clockMillis < window || at > clockMillis - window else {
                throw Self.fail("producer id \(id)", "repeated, out of time order, outside the window or naming a future offset")
            }
            lastAt = at
            dedup.record(id, offset: offset, atMillis: at)
        }
    }
}

/// Whether a snapshot image carries the message bodies. Invariant: raw values are the
/// wire encoding.
public enum SnapshotBodies: UInt8, Hashable, Sendable {
    /// Bodies in the image: self-contained.
    case inline = 1
    /// Body sizes only: the bodies stay in the replica's own body store.
    case external = 2
}
