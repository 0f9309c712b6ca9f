import ChorusQueue
import ChorusWire

/// The bodies of a snapshot streamed to a member, read from this replica's body logs as the
/// stream reaches them: each partition's live bodies pinned at the snapshot's state (the
/// `BodyLogPin`s), and the `SnapshotBodyManifest` that lists them. In the stream every body
/// is followed by its CRC-32C, computed from the bytes as they are read. It holds only the
/// locations (about 40 bytes a message) and at most one body's checksum, never the bodies.
///
/// Invariants: the bytes `read` returns are the bodies the records image of the same state
/// names, in manifest order, each followed by its checksum, whatever the partition applies,
/// compacts or releases meanwhile (the pins keep their segments); the pins are let go
/// exactly once, when the last reference goes (the transfer completed, was replaced or
/// dropped). A class for that reason, and for the checksum it keeps between reads.
///
/// `@unchecked Sendable`: the body logs belong to the host's driving thread, like the host.
public final class SnapshotBodyStream: @unchecked Sendable {
    struct Part {
        let store: SegmentBodyStore
        let pin: BodyLogPin
        /// The stream position (from the first body) of this part's first body.
        let start: Int
        /// `ends[i]`: the stream position just past body `i` of this part and its checksum.
        let ends: [Int]
    }

    /// The largest read of a body at a time when its checksum is taken apart from sending it.
    static let windowBytes = 1 << 20

    let parts: [Part]
    let manifest: SnapshotBodyManifest
    /// The stream's length after the manifest: every body and its checksum.
    let bodyBytes: Int
    /// The checksum of the body whose bytes were read last (part, body, running CRC, bytes
    /// covered), so that a trailer right after them costs no second read.
    private var running: (part: Int, body: Int, crc: UInt32, covered: Int)?

    /// Pins the live bodies of each partition (`offsets` ascending, as the records image
    /// lists them). Nil when a store lost a body or failed (the node stops on the store's
    /// failure; the member is sent nothing).
    init?(_ sources: [(partition: PartitionID, incarnation: UInt64, store: SegmentBodyStore, offsets: [UInt64])]) {
        var parts: [Part] = []
        var manifest = SnapshotBodyManifest(parts: [])
        var position = 0
        for source in sources {
            guard let pin = source.store.pin(source.offsets) else {
                for part in parts { part.store.unpin(part.pin) }
                return nil
            }
            var bodies: [SnapshotBodyManifest.Body] = []
            bodies.reserveCapacity(pin.count)
            var ends: [Int] = []
            ends.reserveCapacity(pin.count)
            let start = position
            for (i, offset) in source.offsets.enumerated() {
                bodies.append(.init(offset: offset, bytes: pin.bytes(of: i)))
                position += pin.bytes(of: i) + SnapshotBodyManifest.checksumBytes
                ends.append(position)
            }
            parts.append(Part(store: source.store, pin: pin, start: start, ends: ends))
            manifest.parts.append(.init(partition: source.partition, incarnation: source.incarnation, bodies: bodies))
        }
        self.parts = parts
        self.manifest = manifest
        self.bodyBytes = position
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
                let frameStart = i == 0 ? part.start : part.ends[i - 1]
                let size = part.pin.bytes(of: i)
                let bodyEnd = frameStart + size
                if at < bodyEnd {
                    let n = min(to, bodyEnd) - at
                    guard let piece = part.store.read(part.pin, body: i, from: at - frameStart, count: n) else { return nil }
                    note(piece, part: p, body: i, from: at - frameStart)
                    out += piece
                    at += n
                }
                if at < to, at >= bodyEnd {
                    guard let crc = checksum(part: p, body: i) else { return nil }
                    var trailer: [UInt8] = []
                    withUnsafeBytes(of: crc.bigEndian) { trailer.append(contentsOf: $0) }
                    let n = min(to, part.ends[i]) - at
                    out += trailer[(at - bodyEnd)..<(at - bodyEnd + n)]
                    at += n
                }
                if at >= part.ends[i] { i += 1 }
            }
            p += 1
        }
        return out
    }

    /// Carries the running checksum over bytes read in order from a body's start.
    private func note(_ piece: [UInt8], part: Int, body: Int, from: Int) {
        if from == 0 {
            running = (part, body, piece.withUnsafeBytes { CRC32C.update(0, $0) }, piece.count)
        } else if let r = running, r.part == part, r.body == body, r.covered == from {
            running = (part, body, piece.withUnsafeBytes { CRC32C.update(r.crc, $0) }, from + piece.count)
        }
    }

    /// The checksum of a whole body: carried over from the read of its bytes, or (a trailer
    /// resent on its own, after a rewind) read again a window at a time.
    private func checksum(part p: Int, body i: Int) -> UInt32? {
        let part = parts[p]
        let size = part.pin.bytes(of: i)
        if let r = running, r.part == p, r.body == i, r.covered == size { return r.crc }
        var crc: UInt32 = 0
        var at = 0
        while at < size {
            let n = min(Self.windowBytes, size - at)
            guard let piece = part.store.read(part.pin, body: i, from: at, count: n) else { return nil }
            crc = piece.withUnsafeBytes { CRC32C.update(crc, $0) }
            at += n
        }
        running = (p, i, crc, size)
        return crc
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
