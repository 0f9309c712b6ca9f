import ChorusQueue
import ChorusRing
import ChorusStorage

/// A streamed snapshot's bodies on a node that keeps queue bodies in memory: staged in body
/// logs on an in-memory file system (one per shard being received) until the stream is
/// complete, then read into an inline image — what such a node installs and persists, as it
/// would have been sent before bodies were streamed. The bodies are in memory either way on
/// this node; the stream still spares the leader the inline image.
///
/// Invariant: one open store per (partition, incarnation), reused by a restarted transfer of
/// the same shard (the same offset holds the same body), dropped with the transfer.
///
/// `@unchecked Sendable`: the stores belong to the host's driving thread, like the host.
struct StagedBodies: @unchecked Sendable {
    let stores = ShardBodyStores.disk(root: "/staged", fileSystem: MemoryFileSystem())
    var open: [ShardQueues.IncomingKey: SegmentBodyStore] = [:]

    /// The staging store of each part of `manifest`; nil when one cannot be opened.
    mutating func stores(for manifest: SnapshotBodyManifest, shard: ShardID) -> [SegmentBodyStore]? {
        var out: [SegmentBodyStore] = []
        for part in manifest.parts {
            let key = ShardQueues.IncomingKey(partition: part.partition, incarnation: part.incarnation)
            if let store = open[key], store.failure == nil {
                out.append(store)
                continue
            }
            guard let store = try? stores.open(shard: shard, partition: part.partition, incarnation: part.incarnation).disk else { return nil }
            open[key] = store
            out.append(store)
        }
        return out
    }

    /// Closes every staging store.
    func close() {
        for key in open.keys.sorted() { open[key]?.close() }
    }
}
