import ChorusQueue
import ChorusRing
import ChorusStorage

/// Where the shard state keeps its queue partitions' message bodies: in memory, or each
/// partition replica in its own body log under
/// `<root>/<shard>/<queue>-<index>-<incarnation>` (on a node `<data-dir>/shards/bodies`).
/// The shard state reaches the disk only through the `FileSystem` given here (sans-I/O: the
/// runtime passes `PosixFileSystem`, tests and the simulator a `MemoryFileSystem`).
///
/// Invariant: a partition replica's directory is a function of (shard, partition,
/// incarnation) alone — a queue deleted and created again (a new incarnation) never finds the
/// old one's bodies, and a restarted node finds exactly the ones it wrote. Queue names hold
/// only `A-Z a-z 0-9 - _ .` and the directory name ends in `-<index>-<incarnation>`, so a
/// name cannot climb out of `<root>/<shard>`.
///
/// `@unchecked Sendable`: the file system is used only by the host's driving thread.
public struct ShardBodyStores: @unchecked Sendable {
    enum Place {
        case memory
        case disk(root: String, fileSystem: any FileSystem, settings: BodyLogSettings)
    }

    let place: Place

    /// Bodies in memory (the default: tests, the simulator).
    public static let memory = ShardBodyStores(place: .memory)

    /// Bodies on disk under `root`.
    public static func disk(root: String, fileSystem: any FileSystem, settings: BodyLogSettings = BodyLogSettings()) -> ShardBodyStores {
        ShardBodyStores(place: .disk(root: root, fileSystem: fileSystem, settings: settings))
    }

    public var isOnDisk: Bool {
        switch place {
        case .memory: false
        case .disk: true
        }
    }

    /// The body log directory of one partition replica (nil in memory).
    public func directory(shard: ShardID, partition: PartitionID, incarnation: UInt64) -> String? {
        switch place {
        case .memory: nil
        case let .disk(root, _, _): "\(root)/\(shard.value)/\(partition.queue.text)-\(partition.index)-\(incarnation)"
        }
    }

    /// The store of one partition replica: a new memory store, or its body log opened (and
    /// recovered: it may hold bodies a restored snapshot names).
    func open(shard: ShardID, partition: PartitionID, incarnation: UInt64) throws(StorageError) -> PartitionBodies {
        switch place {
        case .memory:
            return PartitionBodies()
        case let .disk(root, fileSystem, settings):
            // The root and the shard's directory first (a real file system does not create
            // parents), each made durable in its parent when new.
            let parent = root.lastIndex(of: "/").map { String(root[..<$0]) } ?? "."
            if try fileSystem.createDirectory(at: root) { try fileSystem.syncDirectory(at: parent.isEmpty ? "/" : parent) }
            let shardDirectory = "\(root)/\(shard.value)"
            if try fileSystem.createDirectory(at: shardDirectory) { try fileSystem.syncDirectory(at: root) }
            let dir = directory(shard: shard, partition: partition, incarnation: incarnation) ?? ""
            return PartitionBodies(disk: try SegmentBodyStore(directory: dir, fileSystem: fileSystem, settings: settings))
        }
    }

    /// Closes a partition replica's body log and deletes its segments (the partition is gone).
    func destroy(_ bodies: PartitionBodies) throws(StorageError) {
        guard let disk = bodies.disk else { return }
        disk.close()
        try destroy(directory: disk.directory)
    }

    /// Deletes the segments of a body log that is closed (or was never opened).
    func destroy(directory: String) throws(StorageError) {
        guard case let .disk(_, fileSystem, _) = place else { return }
        try SegmentBodyStore.destroy(directory: directory, fileSystem: fileSystem)
    }
}
