import ChorusQueue
import ChorusWire

/// The list of bodies a streamed snapshot carries after its records image: per partition
/// replica on disk, each live message's offset and body size, in the order the bodies follow
/// in the stream (partitions in `PartitionID` order, offsets ascending — the order of the
/// records image). In the stream each body is followed by its CRC-32C (u32), so the sender
/// learns it as it reads the body, and the member checks it before it writes the body.
///
/// ```
/// manifest = count · part*
/// part     = queue string · index u16 · incarnation · count · (offset gap · bytes)*
/// ```
/// (integers are varints unless marked; an offset is written as its gap to the one before in
/// its part, the first as itself.)
///
/// Invariant: `decode` is total and accepts only manifests whose offsets ascend within a
/// part (and are not 0), whose parts ascend by partition, and whose bodies each fit the
/// queue's message ceiling; `streamBytes` is what the bodies and their checksums take in the
/// stream, so a receiver checks it against the stream's length before it takes a single body.
struct SnapshotBodyManifest: Sendable, Equatable {
    struct Body: Sendable, Equatable {
        var offset: UInt64
        var bytes: Int
    }

    /// Bytes of the checksum after each body in the stream.
    static let checksumBytes = 4

    struct Part: Sendable, Equatable {
        var partition: PartitionID
        var incarnation: UInt64
        var bodies: [Body]
    }

    var parts: [Part]

    /// What the bodies and their checksums take in the stream.
    var streamBytes: Int { parts.reduce(0) { $0 + $1.bodies.reduce(0) { $0 + $1.bytes + Self.checksumBytes } } }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + parts.reduce(0) { $0 + 32 + 8 * $1.bodies.count })
        w.varint(UInt64(parts.count))
        for part in parts {
            w.string(part.partition.queue.text); w.u16(part.partition.index); w.varint(part.incarnation)
            w.varint(UInt64(part.bodies.count))
            var previous: UInt64 = 0
            for b in part.bodies {
                w.varint(b.offset - previous); w.varint(UInt64(b.bytes))
                previous = b.offset
            }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> SnapshotBodyManifest {
        var r = ByteReader(bytes)
        var parts: [Part] = []
        for _ in 0..<(try r.count("manifest parts", limit: r.remaining)) {
            let queue = try QueueCodec.text(&r, "queue name", QueueName.init)
            let partition = PartitionID(queue: queue, index: try r.u16())
            let incarnation = try r.varint()
            if let last = parts.last, !(last.partition < partition) {
                throw WireError.invalid(field: "manifest", reason: "partition \(partition) out of order")
            }
            // Each body takes at least 2 bytes here: the count cannot promise more than that.
            let count = try r.count("manifest bodies", limit: r.remaining / 2)
            var bodies: [Body] = []
            bodies.reserveCapacity(count)
            var previous: UInt64 = 0
            for _ in 0..<count {
                let gap = try r.varint()
                let (offset, overflow) = previous.addingReportingOverflow(gap)
                guard gap > 0, !overflow else { throw WireError.invalid(field: "manifest", reason: "offsets not ascending in \(partition)") }
                let size = try r.count("body bytes", limit: QueueSettings.messageBytesCeiling)
                bodies.append(Body(offset: offset, bytes: size))
                previous = offset
            }
            parts.append(Part(partition: partition, incarnation: incarnation, bodies: bodies))
        }
        try r.expectEnd()
        return SnapshotBodyManifest(parts: parts)
    }
}
