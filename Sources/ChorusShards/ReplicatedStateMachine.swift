import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusStorage

/// The application state a shard's Raft group replicates: commands in log order, nothing else.
///
/// Invariant the conforming type must keep: `apply` is deterministic — the same commands at the
/// same indices give the same replies and the same state on every replica, and
/// `init(image:)` of `image()` is indistinguishable from the state it was taken from. No
/// clock, randomness or `Set`/`Dictionary` iteration order may influence either.
public protocol ReplicatedStateMachine: Sendable {
    /// What applying a command tells others than its proposer (a waiter granted a lock):
    /// produced on every replica, acted on by whoever waits for it (the leader).
    associatedtype Event: Sendable
    /// The state of `shard` before the first command.
    init(shard: ShardID)
    /// Restores the state `image()` wrote; throws on bytes it cannot read (never traps).
    init(shard: ShardID, image: [UInt8]) throws
    /// The events the commands applied since the last call produced, in apply order.
    mutating func takeEvents() -> [Event]
    /// Applies one committed command and returns the reply for whoever proposed it.
    /// A command the machine cannot read is answered with an error reply, never a trap.
    mutating func apply(_ command: [UInt8], at index: LogIndex) -> [UInt8]
    /// The whole state as bytes (a snapshot image).
    func image() -> [UInt8]
    /// Whether `reply` is the last word on `command`, so that the request ledger may answer
    /// every retry of the request with it. A reply a later entry can still change is not (a
    /// lock acquire that queued: a retry must reach the machine, whose own exactly-once
    /// records tell how the wait ended). Must be a pure function of its arguments: the
    /// ledger is replicated state.
    static func isFinal(reply: [UInt8], to command: [UInt8]) -> Bool

    // Files only this replica has (queue bodies on disk, `ShardBodyStores`). A machine
    // without any keeps the defaults below: its local snapshot is `image()`.

    /// The state of `shard` before the first command, with its files where `bodyStores` says.
    init(shard: ShardID, bodyStores: ShardBodyStores)
    /// Restores `image` (`image()` or `localImage()`'s) with its files in `bodyStores`.
    init(shard: ShardID, image: [UInt8], bodyStores: ShardBodyStores) throws
    /// Whether `localImage()` names files of this replica: a member is then sent `image()`.
    var keepsLocalFiles: Bool { get }
    /// The image of this replica's own snapshot, after making the files it names durable,
    /// and what to `release` once that snapshot is durable. Throws when the files cannot be
    /// made durable: the node must stop.
    func localImage() throws(StorageError) -> (image: [UInt8], checkpoint: ShardBodyCheckpoint?)
    /// Frees what the previous local snapshot still needed, once the one `localImage()`
    /// returned `checkpoint` for is durable.
    mutating func release(_ checkpoint: ShardBodyCheckpoint) throws(StorageError)
    /// What a member is sent when `keepsLocalFiles`: the records image (`localImage()`'s
    /// kind, naming its bodies) and those bodies pinned in this replica's files, read as the
    /// stream goes (nil when the image names none). Nil when the files lost a body or failed.
    func snapshotStream() -> (image: [UInt8], bodies: SnapshotBodyStream?)?
    /// The body log that a streamed snapshot's bodies of `partition` (`incarnation`) go into
    /// before the snapshot is installed: the live partition's own, or one opened for the
    /// transfer that the partition takes over when it is created. Nil when the machine
    /// keeps no files.
    mutating func incomingBodies(partition: PartitionID, incarnation: UInt64) throws(StorageError) -> SegmentBodyStore?
    /// A failure of the machine's files; once set the node must stop.
    var storageFailure: StorageError? { get }
    /// Closes the machine's files (a restored snapshot replaces it); `discard` also deletes
    /// them (this node left the group).
    func closeFiles(discard: Bool)
}

extension ReplicatedStateMachine {
    /// Every reply is final unless the machine says otherwise.
    public static func isFinal(reply: [UInt8], to command: [UInt8]) -> Bool { true }

    public init(shard: ShardID, bodyStores: ShardBodyStores) { self.init(shard: shard) }
    public init(shard: ShardID, image: [UInt8], bodyStores: ShardBodyStores) throws { try self.init(shard: shard, image: image) }
    public var keepsLocalFiles: Bool { false }
    public func localImage() throws(StorageError) -> (image: [UInt8], checkpoint: ShardBodyCheckpoint?) { (image(), nil) }
    public mutating func release(_ checkpoint: ShardBodyCheckpoint) throws(StorageError) {}
    public var storageFailure: StorageError? { nil }
    public func closeFiles(discard: Bool) {}
    public func snapshotStream() -> (image: [UInt8], bodies: SnapshotBodyStream?)? { (image(), nil) }
    public mutating func incomingBodies(partition: PartitionID, incarnation: UInt64) throws(StorageError) -> SegmentBodyStore? { nil }
}
