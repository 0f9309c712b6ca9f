import ChorusWire

// A dead letter as the node lists it (`DeadLetterView`):
//
// ```
// origin · diedAt · flags u8 (1 producer id, 2 key, 4 earlier origin) · [producer id] · [key]
//        · body blob · publishedAt · [earlier origin]
// ```
extension QueueCodec {
    public static func encode(_ v: DeadLetterView, into w: inout ByteWriter) {
        encode(v.origin, into: &w)
        w.varint(v.diedAtMillis)
        w.u8((v.producerID == nil ? 0 : 1) | (v.key == nil ? 0 : 2) | (v.earlierOrigin == nil ? 0 : 4))
        if let id = v.producerID { w.string(id.text) }
        if let key = v.key { w.string(key.text) }
        w.blob(v.body)
        w.varint(v.publishedAtMillis)
        if let earlier = v.earlierOrigin { encode(earlier, into: &w) }
    }

    public static func deadLetterView(_ r: inout ByteReader) throws(WireError) -> DeadLetterView {
        let origin = try self.origin(&r)
        let died = try r.varint()
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw WireError.invalid(field: "dead letter flags", reason: "\(flags)") }
        let id = flags & 1 == 0 ? nil : try text(&r, "producer message id", ProducerMessageID.init(_:))
        let key = flags & 2 == 0 ? nil : try text(&r, "message key", MessageKey.init)
        let body = try r.blob("message body", limit: QueueSettings.messageBytesCeiling)
        let published = try r.varint()
        let earlier = flags & 4 == 0 ? nil : try self.origin(&r)
        return DeadLetterView(origin: origin, diedAtMillis: died, key: key, producerID: id, body: body,
                              publishedAtMillis: published, earlierOrigin: earlier)
    }
}
