import ChorusWire

/// The binary form of catalogue entries and of the catalogue's snapshot.
///
/// ```
/// entry    = version u8 = 1 · nowMillis · kind u8 · body
/// 1 create   name · settings          2 delete   name
/// snapshot = magic u16 "QC" · version u8 = 1 · maxQueues · appliedIndex
///            · count · (name · settings · incarnation · createdAtMillis)*   (name order)
/// ```
/// Invariant: both decoders are total; the snapshot decoder accepts only catalogues that
/// keep every `QueueCatalogue` invariant.
public enum CatalogueCodec {
    /// The same as `QueueCodec.version`: both entry kinds share their header.
    public static let version: UInt8 = QueueCodec.version
    static let snapshotMagic: UInt16 = 0x5143 // "QC"

    public static func encode(_ entry: CatalogueEntry) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.u8(version)
        w.varint(entry.nowMillis)
        switch entry.command {
        case let .create(name, settings):
            w.u8(1); w.string(name.text); QueueCodec.encode(settings, into: &w)
        case let .delete(name):
            w.u8(2); w.string(name.text)
        }
        return w.bytes
    }

    public static func decodeEntry(_ bytes: [UInt8]) throws(WireError) -> CatalogueEntry {
        var r = ByteReader(bytes)
        let (now, kind) = try QueueCodec.entryHeader(&r, "catalogue entry")
        let command: CatalogueCommand
        switch kind {
        case 1:
            let name = try QueueCodec.text(&r, "queue name", QueueName.init)
            command = .create(name, try QueueCodec.settings(&r))
        case 2:
            command = .delete(try QueueCodec.text(&r, "queue name", QueueName.init))
        default:
            throw WireError.invalid(field: "catalogue entry kind", reason: "\(kind)")
        }
        try r.expectEnd()
        return CatalogueEntry(nowMillis: now, command: command)
    }

    public static func snapshot(_ c: QueueCatalogue) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + 96 * c.queues.count)
        w.u16(snapshotMagic); w.u8(version)
        w.varint(UInt64(c.maxQueues)); w.varint(c.appliedIndex)
        let all = c.list()
        w.varint(UInt64(all.count))
        for q in all { QueueCodec.encode(q, into: &w) }
        return w.bytes
    }

    public static func catalogue(snapshot bytes: [UInt8]) throws(WireError) -> QueueCatalogue {
        var r = ByteReader(bytes)
        let magic = try r.u16(), v = try r.u8()
        guard magic == snapshotMagic, v == version else { throw WireError.invalid(field: "catalogue snapshot header", reason: "\(magic) v\(v)") }
        let maxQueues = try r.count("max queues", limit: 1 << 32)
        guard maxQueues >= 1 else { throw WireError.invalid(field: "max queues", reason: "0") }
        var c = QueueCatalogue(maxQueues: maxQueues)
        c.appliedIndex = try r.varint()
        var previous: QueueName?
        for _ in 0..<(try r.count("queues", limit: min(maxQueues, r.remaining))) {
            let q = try QueueCodec.info(&r)
            if let p = previous, !(p < q.name) { throw WireError.invalid(field: "queues", reason: "not in name order at \(q.name)") }
            previous = q.name
            guard q.incarnation >= 1, q.incarnation <= c.appliedIndex else {
                throw WireError.invalid(field: "queue \(q.name)", reason: "incarnation \(q.incarnation) beyond the applied index")
            }
            c.queues[q.name] = q
        }
        for q in c.queues.values {
            guard let dlq = q.settings.deadLetterQueue else { continue }
            guard let target = c.queues[dlq], target.incarnation < q.incarnation else {
                throw WireError.invalid(field: "queue \(q.name)", reason: "dead-letter queue \(dlq) missing or created later")
            }
        }
        try r.expectEnd()
        return c
    }
}
