import ChorusQueue
import ChorusWire

/// The bodies of a snapshot streamed to a member, read from this replica's body logs as the
/// stream reaches them: each partition's live bodies pinned at the snapshot's state (the
/// `BodyLogPin`s), and the `SnapshotBodyManifest` that lists them. Building it reads every
/// body once, a window at a time, for the manifest's checksums; it then holds only the
/// locations (about 40 bytes a message), never the bodies.
///
/// Invariants: the bytes `read` returns are the bodies the records image of the same state
/// names, in manifest order, whatever the partition applies, compacts or releases meanwhile
/// (the pins keep their segments); the pins are let go exactly once, when the last reference
/// goes (the transfer completed, was replaced or dropped). A class for that reason alone.
///
/// `@unchecked Sendable`: the body logs belong to the host's driving thread, like the host.
public final class SnapshotBodyStream: @unchecked Sendable {
    struct Part {
        let store: SegmentBodyStore
        let pin: BodyLogPin
        /// The stream position (from the first body) of this part's first body.
        let start: Int
        /// `ends[i]`: the stream position just past body `i` of this part.
        let ends: [Int]
    }

    /// The largest read of one body at a time while the checksums are taken.
    static let windowBytes = 1 << 20

    let parts: [Part]
    let manifest: SnapshotBodyManifest
    /// All bodies' bytes: the stream's length after the manifest.
    let bodyBytes: Int

    /// Pins the live bodies of each partition (`offsets` ascending, as the records image
    /// lists them) and reads them once for their checksums. Nil when a store lost a body or
    /// failed (the node stops on the store's failure; the member is sent nothing).
    init?(_ sources: [(partition: PartitionID, incarnation: UInt64, store: SegmentBodyStore, offsets: [UInt64])]) {
        var parts: [Part] = []
        var manifest = SnapshotBodyManifest(parts: [])
        var position = 0
        var complete = true
        for source in sources {
            guard let pin = source.store.pin(source.offsets) else { complete = false; break }
            var bodies: [SnapshotBodyManifest.Body] = []
            bodies.reserveCapacity(pin.count)
            var ends: [Int] = []
            ends.reserveCapacity(pin.count)
            let start = position
            for (i, offset) in source.offsets.enumerated() {
                let size = pin.bytes(of: i)
                var crc: UInt32 = 0
                var at = 0
                while at < size, complete {
                    let n = min(Self.windowBytes, size - at)
                    guard let piece = source.store.read(pin, body: i, from: at, count: n) else { complete = false; break }
                    crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) }
                    at += n
                }
                bodies.append(.init(offset: offset, bytes: size, checksum: crc))
                position += size
                ends.append(position)
            }
            parts.append(Part(store: source.store, pin: pin, start: start, ends: ends))
            manifest.parts.append(.init(partition: source.partition, incarnation: source.incarnation, bodies: bodies))
            if !complete { break }
        }
        self.parts = parts
        self.manifest = manifest
        self.bodyBytes = position
        if !complete { return nil }
    }

    deinit {
        for part in parts { part.store.unpin(part.pin) }
    }

    /// Stream bytes `from ..< to` (positions from the first body). Nil when a body log can no
    /// longer be read (its partition was dropped, or the store failed): the transfer ends.
    func read(from: Int, to: Int) -> [UInt8]? {
        precondition(0 <= from && from <= to && to <= bodyBytes)
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        var at = from
        // The part holding `at` (parts are few), then its body by binary search, then on.
        var p = 0
        while p < parts.count, (parts[p].ends.last ?? parts[p].start) <= at { p += 1 }
        while at < to, p < parts.count {
            let part = parts[p]
            var i = Self.firstIndex(in: part.ends) { $0 > at }
            while at < to, i < part.ends.count {
                let bodyStart = i == 0 ? part.start : part.ends[i - 1]
                let n = min(to, part.ends[i]) - at
                guard let piece = part.store.read(part.pin, body: i, from: at - bodyStart, count: n) else { return nil }
                out += piece
                at += n
                i += 1
            }
            p += 1
        }
        return out
    }

    /// The first index whose element satisfies `isAfter` (a predicate false then true).
    static func firstIndex(in values: [Int], where isAfter: (Int) -> Bool) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            if isAfter(values[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
