import ChorusWire

/// The binary form of partition and catalogue replies, for the peer RPC that carries a
/// forwarded proposal's answer back to the node that took the client's request.
///
/// ```
/// reply     = version u8 = 1 · kind u8 · body
/// 1 published   count · (u8 1 stored · offset | u8 2 duplicate · offset | u8 3 refused · why u8)*
/// 2 delivered   count · (receipt · message · publishedAt · deadline)*
/// 3 settled     count · (u8 1 acked | 2 extended · deadline | 3 requeued · at
///                        | 4 deadLettered · reason u8 | 5 leaseLost | 6 notFound)*
/// 4 ticked      5 count · n      6 invalid · reason
/// catalogue = version u8 = 1 · kind u8 · body
/// 1 created · info  2 exists · info  3 conflict · info  4 deleted · info  5 notFound · name
/// 6 inUse · count · name*  7 deadLetterQueueMissing · name  8 full · limit  9 invalid · reason
/// info      = name · settings · incarnation · createdAtMillis
/// ```
/// (A delivery's `message` is the publish form; it carries key, producer id, body, origin.)
///
/// Invariant: both decoders are total, like every decoder of this module.
extension QueueCodec {
    /// Longest `.invalid` reason carried.
    static let maxReasonBytes = 1_024

    public static func encode(_ reply: QueueReply) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u8(version)
        switch reply {
        case let .published(outcomes):
            w.u8(1); w.varint(UInt64(outcomes.count))
            for o in outcomes {
                switch o {
                case let .stored(offset): w.u8(1); w.varint(offset)
                case let .duplicate(offset): w.u8(2); w.varint(offset)
                case let .refused(why): w.u8(3); w.u8(why.rawValue)
                }
            }
        case let .delivered(list):
            w.u8(2); w.varint(UInt64(list.count))
            for d in list {
                encode(d.receipt, into: &w)
                encode(OutgoingMessage(body: d.body, key: d.key, producerID: d.producerID, origin: d.origin), into: &w)
                w.varint(d.publishedAtMillis); w.varint(d.leaseDeadlineMillis)
            }
        case let .settled(outcomes):
            w.u8(3); w.varint(UInt64(outcomes.count))
            for o in outcomes {
                switch o {
                case .acked: w.u8(1)
                case let .extended(deadline): w.u8(2); w.varint(deadline)
                case let .requeued(at): w.u8(3); w.varint(at)
                case let .deadLettered(reason): w.u8(4); w.u8(reason.rawValue)
                case .leaseLost: w.u8(5)
                case .notFound: w.u8(6)
                }
            }
        case .ticked: w.u8(4)
        case let .count(n): w.u8(5); w.varint(UInt64(n))
        case let .invalid(why): w.u8(6); reason(why, into: &w)
        }
        return w.bytes
    }

    public static func decodeReply(_ bytes: [UInt8]) throws(WireError) -> QueueReply {
        var r = ByteReader(bytes)
        try replyVersion(&r)
        let kind = try r.u8()
        let reply: QueueReply
        switch kind {
        case 1:
            var out: [PublishOutcome] = []
            for _ in 0..<(try r.count("outcomes", limit: r.remaining)) {
                let tag = try r.u8()
                switch tag {
                case 1: out.append(.stored(offset: try r.varint()))
                case 2: out.append(.duplicate(offset: try r.varint()))
                case 3:
                    let raw = try r.u8()
                    guard let why = PublishRefusal(rawValue: raw) else { throw WireError.invalid(field: "publish refusal", reason: "\(raw)") }
                    out.append(.refused(why))
                default: throw WireError.invalid(field: "publish outcome", reason: "\(tag)")
                }
            }
            reply = .published(out)
        case 2:
            var out: [Delivery] = []
            for _ in 0..<(try r.count("deliveries", limit: r.remaining)) {
                let receipt = try self.receipt(&r), m = try message(&r)
                let published = try r.varint(), deadline = try r.varint()
                out.append(Delivery(receipt: receipt, key: m.key, producerID: m.producerID, body: m.body,
                                    publishedAtMillis: published, leaseDeadlineMillis: deadline, origin: m.origin))
            }
            reply = .delivered(out)
        case 3:
            var out: [SettleOutcome] = []
            for _ in 0..<(try r.count("outcomes", limit: r.remaining)) {
                let tag = try r.u8()
                switch tag {
                case 1: out.append(.acked)
                case 2: out.append(.extended(deadlineMillis: try r.varint()))
                case 3: out.append(.requeued(availableAtMillis: try r.varint()))
                case 4:
                    let raw = try r.u8()
                    guard let why = DeadLetterReason(rawValue: raw) else { throw WireError.invalid(field: "dead letter reason", reason: "\(raw)") }
                    out.append(.deadLettered(why))
                case 5: out.append(.leaseLost)
                case 6: out.append(.notFound)
                default: throw WireError.invalid(field: "settle outcome", reason: "\(tag)")
                }
            }
            reply = .settled(out)
        case 4: reply = .ticked
        case 5: reply = .count(try r.count("count", limit: Int(Int32.max)))
        case 6: reply = .invalid(try r.string("invalid reason", limit: maxReasonBytes))
        default: throw WireError.invalid(field: "queue reply kind", reason: "\(kind)")
        }
        try r.expectEnd()
        return reply
    }

    public static func encode(_ reply: CatalogueReply) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.u8(version)
        switch reply {
        case let .created(info): w.u8(1); encode(info, into: &w)
        case let .exists(info): w.u8(2); encode(info, into: &w)
        case let .conflict(info): w.u8(3); encode(info, into: &w)
        case let .deleted(info): w.u8(4); encode(info, into: &w)
        case let .notFound(name): w.u8(5); w.string(name.text)
        case let .inUse(names): w.u8(6); w.varint(UInt64(names.count)); for n in names { w.string(n.text) }
        case let .deadLetterQueueMissing(name): w.u8(7); w.string(name.text)
        case let .full(limit): w.u8(8); w.varint(UInt64(limit))
        case let .invalid(why): w.u8(9); reason(why, into: &w)
        }
        return w.bytes
    }

    public static func decodeCatalogueReply(_ bytes: [UInt8]) throws(WireError) -> CatalogueReply {
        var r = ByteReader(bytes)
        try replyVersion(&r)
        let kind = try r.u8()
        let reply: CatalogueReply
        switch kind {
        case 1: reply = .created(try info(&r))
        case 2: reply = .exists(try info(&r))
        case 3: reply = .conflict(try info(&r))
        case 4: reply = .deleted(try info(&r))
        case 5: reply = .notFound(try text(&r, "queue name", QueueName.init))
        case 6:
            var names: [QueueName] = []
            for _ in 0..<(try r.count("queue names", limit: r.remaining)) { names.append(try text(&r, "queue name", QueueName.init)) }
            reply = .inUse(by: names)
        case 7: reply = .deadLetterQueueMissing(try text(&r, "queue name", QueueName.init))
        case 8: reply = .full(limit: try r.count("limit", limit: 1 << 32))
        case 9: reply = .invalid(try r.string("invalid reason", limit: maxReasonBytes))
        default: throw WireError.invalid(field: "catalogue reply kind", reason: "\(kind)")
        }
        try r.expectEnd()
        return reply
    }

    public static func encode(_ info: QueueInfo, into w: inout ByteWriter) {
        w.string(info.name.text); encode(info.settings, into: &w); w.varint(info.incarnation); w.varint(info.createdAtMillis)
    }

    public static func info(_ r: inout ByteReader) throws(WireError) -> QueueInfo {
        let name = try text(&r, "queue name", QueueName.init), settings = try self.settings(&r)
        let incarnation = try r.varint()
        return QueueInfo(name: name, settings: settings, incarnation: incarnation, createdAtMillis: try r.varint())
    }

    private static func replyVersion(_ r: inout ByteReader) throws(WireError) {
        let v = try r.u8()
        guard v == version else { throw WireError.invalid(field: "reply version", reason: "\(v)") }
    }

    /// A reason cut to `maxReasonBytes` on a character boundary.
    private static func reason(_ text: String, into w: inout ByteWriter) {
        var cut = ""
        for c in text {
            if cut.utf8.count + c.utf8.count > maxReasonBytes { break }
            cut.append(c)
        }
        w.string(cut)
    }
}
