import ChorusRaft
import ChorusRing

/// One piece of a snapshot image on its way from a group's leader to one member (Raft §7,
/// chunked as the paper's InstallSnapshot `offset`/`done` fields describe). The image is
/// `RaftCodec.encodeImage` of the snapshot; every chunk names the whole transfer — the
/// snapshot's index and term, the image's length and CRC-32C — so a receiver can tell a
/// chunk of the transfer it is assembling from one of an older or newer transfer.
///
/// Invariant (checked by `ShardBatchCodec.decode`): `offset + bytes.count ≤ totalBytes`.
public struct SnapshotChunk: Sendable, Equatable {
    public var shard: ShardID
    /// The leader's term when it sent the snapshot (the InstallSnapshot message's term).
    public var term: Term
    public var index: LogIndex
    public var snapshotTerm: Term
    public var totalBytes: UInt64
    public var checksum: UInt32
    public var offset: UInt64
    public var bytes: [UInt8]

    public init(shard: ShardID, term: Term, index: LogIndex, snapshotTerm: Term, totalBytes: UInt64, checksum: UInt32,
                offset: UInt64, bytes: [UInt8]) {
        self.shard = shard; self.term = term; self.index = index; self.snapshotTerm = snapshotTerm
        self.totalBytes = totalBytes; self.checksum = checksum; self.offset = offset; self.bytes = bytes
    }
}

/// A member's answer to snapshot chunks: it holds the first `received` bytes of the image of
/// the snapshot at `index`. It is the flow control (the leader sends at most a window beyond
/// it) and the resume point after a broken stream (the leader goes on from `received`).
public struct SnapshotChunkAck: Sendable, Equatable {
    public var shard: ShardID
    public var index: LogIndex
    public var received: UInt64

    public init(shard: ShardID, index: LogIndex, received: UInt64) {
        self.shard = shard; self.index = index; self.received = received
    }
}
