import ChorusQueue
import ChorusStorage

/// What `ShardQueues.checkpointBodies()` made durable: per partition replica on disk, the
/// segments its body log may delete once the snapshot written after the checkpoint is
/// durable (`releaseBodies(_:)`).
///
/// Invariant: names each partition by id and incarnation, so a release after the partition
/// was dropped or replaced touches nothing of the new one.
public struct ShardBodyCheckpoint: Hashable, Sendable {
    public struct Part: Hashable, Sendable {
        public let partition: PartitionID
        public let incarnation: UInt64
        public let checkpoint: BodyLogCheckpoint
    }

    public let parts: [Part]
    /// Body logs of partitions dropped before the checkpoint: deleted at release.
    public let droppedDirectories: [String]
    public var isEmpty: Bool { parts.isEmpty && droppedDirectories.isEmpty }
}

extension ShardQueues {
    /// Makes every body on disk durable and finds the segments that are dead (compacting the
    /// mostly-dead ones first). Call right before writing an `.external` image, with no apply
    /// in between. Throws the first store failure (the node must stop).
    public func checkpointBodies() throws(StorageError) -> ShardBodyCheckpoint {
        if let storeFailure { throw storeFailure }
        var parts: [ShardBodyCheckpoint.Part] = []
        for id in partitions.keys.sorted() {
            guard let p = partitions[id], let disk = p.bodies.disk else { continue }
            parts.append(ShardBodyCheckpoint.Part(partition: id, incarnation: p.incarnation, checkpoint: try disk.checkpoint()))
        }
        return ShardBodyCheckpoint(parts: parts, droppedDirectories: droppedBodies)
    }

    /// Deletes the segments `checkpoint` found dead, and the body logs of the partitions
    /// dropped before it. Call once the snapshot written after it is durable, never sooner:
    /// until then the previous snapshot may name their bodies.
    public mutating func releaseBodies(_ checkpoint: ShardBodyCheckpoint) throws(StorageError) {
        if let storeFailure { throw storeFailure }
        for part in checkpoint.parts {
            guard let p = partitions[part.partition], p.incarnation == part.incarnation, let disk = p.bodies.disk else { continue }
            try disk.release(part.checkpoint)
        }
        for directory in checkpoint.droppedDirectories where droppedBodies.contains(directory) {
            try stores.destroy(directory: directory)
            droppedBodies.removeAll { $0 == directory }
        }
    }

    /// Closes every body log (the replica is replaced by a restored image or the node stops);
    /// the directories stay.
    public func closeBodies() {
        for id in partitions.keys.sorted() { partitions[id]?.bodies.disk?.close() }
        for key in incoming.keys.sorted() { incoming[key]?.disk?.close() }
    }

    /// Closes and deletes every body log (this node no longer holds the shard). Best effort:
    /// a directory left behind holds nothing a later replica reads (its incarnation's
    /// partition is restored from a snapshot that brings its bodies and retains only those).
    public func destroyAllBodies() {
        for id in partitions.keys.sorted() {
            guard let p = partitions[id] else { continue }
            try? stores.destroy(p.bodies)
        }
        for key in incoming.keys.sorted() {
            if let bodies = incoming[key] { try? stores.destroy(bodies) }
        }
        for directory in droppedBodies { try? stores.destroy(directory: directory) }
    }
}
