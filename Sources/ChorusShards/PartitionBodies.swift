import ChorusQueue

/// One queue partition replica's body store as the shard state holds it: the bodies in
/// memory (tests, the simulator, and a node without a bodies directory), or in the replica's
/// own body log on disk (`SegmentBodyStore`, `docs/queue.md`).
///
/// Invariant: exactly one of the two holds bodies — `disk` when set, `memory` otherwise —
/// so `body(at:)` answers what was put and not removed, whichever it is. The memory store is
/// a field mutated in place (no copy of the whole dictionary per put).
///
/// `@unchecked Sendable`: a `SegmentBodyStore` is a class; it belongs to one replica of one
/// shard host, and the host is driven from one thread (its driver's), like the host itself.
public struct PartitionBodies: MessageBodyStore, @unchecked Sendable {
    var memory = MemoryBodyStore()
    /// The body log, when the partition's bodies are on disk.
    public let disk: SegmentBodyStore?

    /// Bodies in memory.
    public init() { disk = nil }

    /// Bodies in `store`'s body log.
    public init(disk store: SegmentBodyStore) { disk = store }

    public mutating func put(_ body: [UInt8], at offset: UInt64) {
        if let disk { disk.put(body, at: offset) } else { memory.put(body, at: offset) }
    }

    public func body(at offset: UInt64) -> [UInt8]? {
        if let disk { return disk.body(at: offset) }
        return memory.body(at: offset)
    }

    public mutating func remove(_ offset: UInt64) {
        if let disk { disk.remove(offset) } else { memory.remove(offset) }
    }

    public func bodyBytes(at offset: UInt64) -> Int? {
        if let disk { return disk.bodyBytes(at: offset) }
        return memory.body(at: offset)?.count
    }
}
