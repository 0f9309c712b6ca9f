import ChorusRaft
import ChorusRing
import ChorusQueue
import ChorusWire

/// A member assembling one snapshot from a leader's chunks, in order: an image, or a
/// streamed snapshot — a records image, the `SnapshotBodyManifest`, then the bodies, which go
/// into this replica's body logs as they arrive instead of into memory.
///
/// Invariants: `bytes` holds the stream's head (the image, and the manifest of a streamed
/// snapshot) and never more, plus at most one body and its checksum in `body`, so memory is
/// bounded by the records, not the bodies; everything is taken only from chunks of this
/// transfer (same leader, term, snapshot index and term, length and checksum) in order; a
/// chunk that does not continue it is ignored (the answer, `received`, tells the leader
/// where to resume). The head's CRC-32C must equal the leader's before a single body is
/// taken, and each body's the checksum that follows it before it is written: a body log only
/// ever gets the bodies the leader's snapshot names (the same offset holds the same body on
/// every replica, so bodies left by a transfer that never completes change nothing a
/// partition reads). The snapshot is handed over only when every byte arrived and the
/// bodies are durable.
///
/// `@unchecked Sendable`: the body logs belong to the host's driving thread, like the host.
struct SnapshotReceiving: @unchecked Sendable {
    static let maxReservedBytes = 1 << 30
    let from: NodeID
    let term: Term
    let index: LogIndex
    let snapshotTerm: Term
    let totalBytes: UInt64
    let checksum: UInt32
    private(set) var bytes: [UInt8] = []
    /// Bytes of the stream taken, in order (after the hand-over `bytes` is empty and this
    /// stays, for the member's last answer).
    private(set) var received: UInt64 = 0
    /// Ticks since a chunk of this transfer last arrived.
    var idleTicks = 0
    /// The image's length and the head's (image and manifest), once the prefix is read.
    private(set) var imageBytes: Int?
    private(set) var headBytes: Int?
    /// A streamed snapshot's bodies: the manifest, the body logs they go to (one per part),
    /// the next body (part, index) and what arrived of it.
    private(set) var manifest: SnapshotBodyManifest?
    private var stores: [SegmentBodyStore] = []
    private var part = 0, item = 0
    private var body: [UInt8] = []
    /// The most bytes this transfer held in memory at once (`bytes` and `body`).
    private(set) var peakBytes = 0

    /// What one chunk did to the transfer.
    enum Outcome: Equatable {
        /// Taken, or ignored because it does not continue the copy; answer with `received`.
        case pending
        /// The whole snapshot arrived and checks out (a streamed one's bodies are durable in
        /// the body logs, its `data` names them: the records image).
        case complete(Snapshot)
        /// The snapshot is damaged (or this node cannot take its bodies): start over.
        case damaged(String)
    }

    /// The most bytes of head (image and manifest) this member takes: what it holds in memory
    /// and stores as the snapshot. The bodies after it go to disk and are not counted.
    let maxHeadBytes: Int

    /// Starts a transfer from its first chunk's description (the chunk is then `receive`d).
    init(from: NodeID, first c: SnapshotChunk, maxHeadBytes: Int = SnapshotReceiving.maxReservedBytes) {
        self.from = from
        self.maxHeadBytes = maxHeadBytes
        self.term = c.term
        self.index = c.index
        self.snapshotTerm = c.snapshotTerm
        self.totalBytes = c.totalBytes
        self.checksum = c.checksum
    }

    /// True when `c` belongs to this transfer.
    func matches(_ c: SnapshotChunk, from sender: NodeID) -> Bool {
        sender == from && c.term == term && c.index == index && c.snapshotTerm == snapshotTerm
            && c.totalBytes == totalBytes && c.checksum == checksum
    }

    /// Takes chunk `c`. `open` gives the body log of each part of a streamed snapshot's
    /// manifest (nil: none can be opened, the snapshot is refused).
    mutating func receive(_ c: SnapshotChunk, limits: RaftCodec.Limits,
                          open: (SnapshotBodyManifest) -> [SegmentBodyStore]? = { _ in nil }) -> Outcome {
        idleTicks = 0
        guard c.offset == received, !c.bytes.isEmpty else { return .pending }
        received += UInt64(c.bytes.count)
        var rest = c.bytes[...]
        if manifest == nil {
            bytes.append(contentsOf: rest)
            rest = []
            if let damage = readLayout(limits: limits) { return .damaged(damage) }
            guard let headBytes, bytes.count >= headBytes else { return .pending }
            if bytes.count > headBytes {
                rest = bytes[headBytes...]
                bytes.removeSubrange(headBytes...)
            }
            guard CRC32C.checksum(bytes) == checksum else { return .damaged("checksum mismatch") }
            if let imageBytes, headBytes > imageBytes, let damage = startBodies(open: open) { return .damaged(damage) }
        }
        if manifest != nil, let damage = takeBodies(rest) { return .damaged(damage) }
        peakBytes = max(peakBytes, bytes.count + body.count)
        guard received == totalBytes else { return .pending }
        return finish(limits: limits)
    }

    /// Reads the image's length from its prefix once enough of it arrived, and a streamed
    /// snapshot's manifest length after it; reserves the head's buffer once (growing by
    /// doubling would hold the old and the new buffer at once). A damage, or nil.
    private mutating func readLayout(limits: RaftCodec.Limits) -> String? {
        peakBytes = max(peakBytes, bytes.count)
        if imageBytes == nil {
            do { imageBytes = try RaftCodec.imageBytes(head: bytes, limits: limits) } catch { return error.description }
            guard let imageBytes else { return nil }
            guard UInt64(imageBytes) <= totalBytes else { return "image of \(imageBytes) bytes in a stream of \(totalBytes)" }
            guard imageBytes <= maxHeadBytes else { return "image of \(imageBytes) bytes, above the \(maxHeadBytes) this member takes" }
            if UInt64(imageBytes) == totalBytes { headBytes = imageBytes }
            bytes.reserveCapacity(min(imageBytes + 16, SnapshotReceiving.maxReservedBytes))
        }
        guard headBytes == nil, let imageBytes, bytes.count > imageBytes else { return nil }
        var r = ByteReader(Array(bytes[imageBytes..<min(bytes.count, imageBytes + 10)]))
        guard let length = try? r.count("manifest", limit: Int(min(totalBytes, UInt64(Int.max / 2)))) else {
            return bytes.count >= imageBytes + 10 ? "unreadable manifest length" : nil
        }
        let head = imageBytes + r.offset + length
        guard UInt64(head) <= totalBytes else { return "manifest of \(length) bytes past the stream's end" }
        guard head <= maxHeadBytes else { return "image and manifest of \(head) bytes, above the \(maxHeadBytes) this member takes" }
        headBytes = head
        bytes.reserveCapacity(min(head, SnapshotReceiving.maxReservedBytes))
        return nil
    }

    /// The head checked out: reads the manifest and opens the body logs it names.
    private mutating func startBodies(open: (SnapshotBodyManifest) -> [SegmentBodyStore]?) -> String? {
        guard let imageBytes, let headBytes else { return "no head" }
        var r = ByteReader(Array(bytes[imageBytes..<headBytes]))
        let m: SnapshotBodyManifest
        do { m = try SnapshotBodyManifest.decode(try r.blob("manifest", limit: headBytes)) } catch { return "manifest: \(error)" }
        guard UInt64(headBytes + m.streamBytes) == totalBytes else {
            return "manifest lists \(m.streamBytes) bytes of bodies, the stream has \(totalBytes - UInt64(headBytes))"
        }
        guard let opened = open(m), opened.count == m.parts.count else { return "no body logs for a streamed snapshot" }
        manifest = m
        stores = opened
        bytes.removeSubrange(imageBytes...) // the manifest is decoded: keep the image only
        skipEmptyParts()
        return nil
    }

    /// Body bytes in stream order: each body, then its checksum; a body whose checksum
    /// matches goes into its log (a body of 0 bytes is complete before any of its bytes).
    private mutating func takeBodies(_ piece: ArraySlice<UInt8>) -> String? {
        guard let manifest else { return "bodies before the manifest" }
        var rest = piece
        while part < manifest.parts.count, !rest.isEmpty {
            let b = manifest.parts[part].bodies[item]
            let frame = b.bytes + SnapshotBodyManifest.checksumBytes
            if body.isEmpty { body.reserveCapacity(frame) }
            let n = min(frame - body.count, rest.count)
            body += rest.prefix(n)
            rest = rest.dropFirst(n)
            peakBytes = max(peakBytes, bytes.count + body.count)
            guard body.count == frame else { break }
            let stored = body[b.bytes...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            body.removeLast(SnapshotBodyManifest.checksumBytes)
            guard CRC32C.checksum(body) == stored else {
                return "checksum mismatch in the body of \(manifest.parts[part].partition) offset \(b.offset)"
            }
            stores[part].put(body, at: b.offset)
            if let failure = stores[part].failure { return "body log: \(failure)" }
            body = []
            item += 1
            skipEmptyParts()
        }
        return rest.isEmpty ? nil : "bytes past the last body"
    }

    private mutating func skipEmptyParts() {
        guard let manifest else { return }
        while part < manifest.parts.count, item >= manifest.parts[part].bodies.count {
            part += 1
            item = 0
        }
    }

    /// Every byte arrived: a streamed snapshot's bodies made durable, then the image decoded.
    private mutating func finish(limits: RaftCodec.Limits) -> Outcome {
        if manifest != nil {
            for store in stores {
                do { try store.sync() } catch { return .damaged("body log: \(error)") }
            }
            stores = []
        }
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
