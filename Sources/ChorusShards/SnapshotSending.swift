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
    let checksum: UInt32
    var imageBytes: Int { prefix.count + data.count }
    /// Bytes the member confirmed it holds, in order.
    private(set) var acked = 0
    /// The next byte to send.
    private(set) var next = 0
    private(set) var idleTicks = 0
    /// Bytes sent more than once (after a rewind), for counters.
    private(set) var resentBytes = 0
    private var sentThrough = 0

    init(to: NodeID, shard: ShardID, term: Term, snapshot: Snapshot) {
        self.to = to
        self.shard = shard
        self.term = term
        self.index = snapshot.metadata.index
        self.snapshotTerm = snapshot.metadata.term
        let prefix = RaftCodec.imagePrefix(snapshot)
        self.prefix = prefix
        self.data = snapshot.data
        self.checksum = snapshot.data.withUnsafeBytes { CRC32C.update(CRC32C.checksum(prefix), $0) }
    }

    /// Bytes `from..<to` of the image, across the prefix and the data.
    func imageSlice(_ from: Int, _ to: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        if from < prefix.count { out += prefix[from..<min(to, prefix.count)] }
        if to > prefix.count { out += data[max(from, prefix.count) - prefix.count..<to - prefix.count] }
        return out
    }

    var isComplete: Bool { acked == imageBytes }
    func hasChunks(windowBytes: Int) -> Bool { next < imageBytes && next - acked < windowBytes }

    /// The chunks to send now: from `next`, up to `windowBytes` beyond `acked`.
    mutating func chunks(chunkBytes: Int, windowBytes: Int) -> [SnapshotChunk] {
        var out: [SnapshotChunk] = []
        while hasChunks(windowBytes: windowBytes) {
            let end = min(imageBytes, next + chunkBytes, acked + windowBytes)
            out.append(SnapshotChunk(shard: shard, term: term, index: index, snapshotTerm: snapshotTerm,
                                     totalBytes: UInt64(imageBytes), checksum: checksum, offset: UInt64(next),
                                     bytes: imageSlice(next, end)))
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
