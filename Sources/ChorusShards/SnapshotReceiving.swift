import ChorusRaft
import ChorusRing
import ChorusWire

/// A member assembling one snapshot image from a leader's chunks, in order.
///
/// Invariants: `bytes` is the image's prefix of length `received` (until it is handed over),
/// taken only from chunks of this transfer (same leader, term, snapshot index and term,
/// length and checksum); a chunk
/// that does not continue it is ignored (the answer, `received`, tells the leader where to
/// resume); the snapshot is handed over only when all `totalBytes` arrived and their CRC-32C
/// equals the leader's.
struct SnapshotReceiving: Sendable {
    static let maxReservedBytes = 1 << 30
    let from: NodeID
    let term: Term
    let index: LogIndex
    let snapshotTerm: Term
    let totalBytes: UInt64
    let checksum: UInt32
    private(set) var bytes: [UInt8] = []
    /// Bytes of the image taken, in order: `bytes.count` until the image is handed over
    /// (then `bytes` is empty and this stays, for the member's last answer).
    private(set) var received: UInt64 = 0
    /// Ticks since a chunk of this transfer last arrived.
    var idleTicks = 0

    /// What one chunk did to the transfer.
    enum Outcome: Equatable {
        /// Taken, or ignored because it does not continue the copy; answer with `received`.
        case pending
        /// The whole image arrived and its checksum matches.
        case complete(Snapshot)
        /// The whole image arrived but is damaged: start over.
        case damaged(String)
    }

    /// Starts a transfer from its first chunk's description (the chunk is then `receive`d).
    init(from: NodeID, first c: SnapshotChunk) {
        self.from = from
        self.term = c.term
        self.index = c.index
        self.snapshotTerm = c.snapshotTerm
        self.totalBytes = c.totalBytes
        self.checksum = c.checksum
        // One allocation of the announced size (the host checks it against
        // `maxSnapshotBytes` first; the cap keeps this total anyway): growing by doubling
        // would hold the old and the new buffer at once. Pages not yet written stay virtual.
        bytes.reserveCapacity(Int(min(c.totalBytes, UInt64(SnapshotReceiving.maxReservedBytes))))
    }

    /// True when `c` belongs to this transfer.
    func matches(_ c: SnapshotChunk, from sender: NodeID) -> Bool {
        sender == from && c.term == term && c.index == index && c.snapshotTerm == snapshotTerm
            && c.totalBytes == totalBytes && c.checksum == checksum
    }

    mutating func receive(_ c: SnapshotChunk, limits: RaftCodec.Limits) -> Outcome {
        idleTicks = 0
        guard c.offset == received, !c.bytes.isEmpty else { return .pending }
        bytes.append(contentsOf: c.bytes)
        received = UInt64(bytes.count)
        guard received == totalBytes else { return .pending }
        guard CRC32C.checksum(bytes) == checksum else { return .damaged("checksum mismatch") }
        // The transfer ends here either way: hand the buffer over rather than copy the image.
        let image = bytes
        bytes = []
        do {
            return .complete(try RaftCodec.decodeImage(taking: consume image, index: index, term: snapshotTerm, limits: limits))
        } catch {
            return .damaged(error.description)
        }
    }
}
