import ChorusRaft
import ChorusRing
import ChorusWire

/// A leader streaming one snapshot image to one member, in chunks, with flow control and
/// resumption (Raft §7 InstallSnapshot with `offset`; the window and the resume point are
/// the member's `SnapshotChunkAck`s).
///
/// Invariants: `acked ≤ next ≤ imageBytes`; at most `windowBytes` beyond `acked` are ever in
/// flight; after a silence of `resendTicks` or a broken stream (`rewind`) sending resumes at
/// `acked`, the first byte the member does not hold, never at 0 unless the member says so.
struct SnapshotSending: Sendable {
    let to: NodeID
    let shard: ShardID
    /// The leader's term and the snapshot's identity.
    let term: Term
    let index: LogIndex
    let snapshotTerm: Term
    /// `RaftCodec.encodeImage` of the snapshot, held as its two pieces: the prefix
    /// (configuration and data length; never empty) and the state machine's bytes, which
    /// share storage with the core's copy of the snapshot instead of being copied per member.
    let prefix: [UInt8]
    let data: [UInt8]
    /// A streamed snapshot goes on after the image: `manifest` (the `SnapshotBodyManifest`
    /// as a blob), then the bodies it lists, read from the body logs as they are sent.
    /// Empty and nil for an image that holds everything.
    let manifest: [UInt8]
    let bodies: SnapshotBodyStream?
    /// CRC-32C of the image and the manifest: every chunk names it, and the member checks it
    /// before it takes a body; each body is followed in the stream by its own CRC-32C.
    let checksum: UInt32
    var headBytes: Int { prefix.count + data.count + manifest.count }
    var imageBytes: Int { headBytes + (bodies?.bodyBytes ?? 0) }
    /// Bytes of the stream this transfer holds in memory (the bodies are read as sent).
    var heldBytes: Int { headBytes }
    /// Bytes the member confirmed it holds, in order.
    private(set) var acked = 0
    /// The next byte to send.
    private(set) var next = 0
    private(set) var idleTicks = 0
    /// Bytes sent more than once (after a rewind), for counters.
    private(set) var resentBytes = 0
    private var sentThrough = 0

    init(to: NodeID, shard: ShardID, term: Term, snapshot: Snapshot, bodies: SnapshotBodyStream? = nil) {
        self.to = to
        self.shard = shard
        self.term = term
        self.index = snapshot.metadata.index
        self.snapshotTerm = snapshot.metadata.term
        let prefix = RaftCodec.imagePrefix(snapshot)
        self.prefix = prefix
        self.data = snapshot.data
        var manifest: [UInt8] = []
        if let bodies {
            var w = ByteWriter()
            w.blob(bodies.manifest.encoded())
            manifest = w.bytes
        }
        self.manifest = manifest
        self.bodies = bodies
        let head = snapshot.data.withUnsafeBytes { CRC32C.update(CRC32C.checksum(prefix), $0) }
        self.checksum = manifest.withUnsafeBytes { CRC32C.update(head, $0) }
    }

    /// Bytes `from..<to` of the stream, across the prefix, the data, the manifest and the
    /// bodies; nil when the bodies can no longer be read.
    func imageSlice(_ from: Int, _ to: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        var at = from
        var base = 0
        for piece in [prefix, data, manifest] {
            if at < to, at < base + piece.count {
                let end = min(to, base + piece.count)
                out += piece[at - base..<end - base]
                at = end
            }
            base += piece.count
        }
        if at < to {
            guard let bodies, let rest = bodies.read(from: at - base, to: to - base) else { return nil }
            out += rest
        }
        return out
    }

    var isComplete: Bool { acked == imageBytes }
    func hasChunks(windowBytes: Int) -> Bool { next < imageBytes && next - acked < windowBytes }

    /// The chunks to send now: from `next`, up to `windowBytes` beyond `acked`. Nil when the
    /// bodies can no longer be read: the transfer ends (the core asks again later).
    mutating func chunks(chunkBytes: Int, windowBytes: Int) -> [SnapshotChunk]? {
        var out: [SnapshotChunk] = []
        while hasChunks(windowBytes: windowBytes) {
            let end = min(imageBytes, next + chunkBytes, acked + windowBytes)
            guard let bytes = imageSlice(next, end) else { return nil }
            out.append(SnapshotChunk(shard: shard, term: term, index: index, snapshotTerm: snapshotTerm,
                                     totalBytes: UInt64(imageBytes), checksum: checksum, offset: UInt64(next),
                                     bytes: bytes))
            if next < sentThrough { resentBytes += min(end, sentThrough) - next }
            sentThrough = max(sentThrough, end)
            next = end
        }
        return out
    }

    /// The member holds the first `received` bytes. Less than it confirmed before means it
    /// lost its copy (it restarted, or took the chunks for another transfer): go back there.
    /// An answer that confirms nothing new changes nothing; chunks lost in a broken stream
    /// are resent by `rewind` or after `resendTicks`.
    mutating func acknowledge(received: UInt64) {
        let r = Int(min(received, UInt64(imageBytes)))
        if r < acked {
            acked = r
            next = r
            idleTicks = 0
        } else if r > acked {
            acked = r
            next = max(next, r)
            idleTicks = 0
        }
    }

    /// One tick; after `resendTicks` of them with chunks unanswered, resume at `acked`.
    mutating func tick(resendTicks: Int) {
        guard next > acked else { idleTicks = 0; return }
        idleTicks += 1
        if idleTicks >= resendTicks { rewind() }
    }

    /// The stream broke (or the transport refused a frame): resend from what the member holds.
    mutating func rewind() {
        next = acked
        idleTicks = 0
    }
}
