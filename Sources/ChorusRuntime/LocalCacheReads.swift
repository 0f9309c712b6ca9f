import ChorusBase
import ChorusCache
import ChorusNode
import Synchronization

/// The embedding's read path into the agent's cache: the node's readable copies, mirrored
/// from its `.localCopies` effects (`LocalCopyMirror`), read from any thread with a function
/// call and no message to the loop.
///
/// Invariant: the loop applies each change under the lock before it carries out the
/// node's later effects of the same input, so a read on another thread never sees a copy
/// after the acknowledgement that gave it up has left (`LocalCopyMirror`). A miss means only
/// that this node holds no readable copy now: ask the node (`GET /v1/cache/{key}`).
public final class LocalCacheReads: Sendable {
    private let mirror = Mutex(LocalCopyMirror())
    private let hitCount = Atomic<UInt64>(0)
    private let missCount = Atomic<UInt64>(0)

    public init() {}

    /// The local copy of `key` now: `.some(nil)` when the key is known absent, nil when this
    /// node holds no readable copy.
    public func value(of key: [UInt8]) -> [UInt8]?? {
        value(of: CacheKey(key), at: MonotonicClock.now())
    }

    /// The local copy of `key` at `now` (a reading of `MonotonicClock`).
    public func value(of key: CacheKey, at now: Instant) -> [UInt8]?? {
        let found = mirror.withLock { $0.value(of: key, at: now) }
        if found == nil { missCount.wrappingAdd(1, ordering: .relaxed) } else { hitCount.wrappingAdd(1, ordering: .relaxed) }
        return found
    }

    /// Reads answered from a copy, and reads that found none.
    public var hits: UInt64 { hitCount.load(ordering: .relaxed) }
    public var misses: UInt64 { missCount.load(ordering: .relaxed) }

    /// Keys mirrored (some may wait for their lease-end change).
    public var count: Int { mirror.withLock { $0.count } }

    /// Takes in a `.localCopies` effect. The agent's loop calls it in effect order; anything
    /// else that calls it (a benchmark filling a mirror) gives up the invariant above.
    public func apply(_ changes: [LocalCopyChange]) { mirror.withLock { $0.apply(changes) } }
    func removeAll() { mirror.withLock { $0.removeAll() } }
}

extension Agent {
    /// This node's copy of cache key `key`, read with a function call from any thread:
    /// `.some(value)` (nil value: the key is absent) while the copy is readable, nil when the
    /// node holds none (a read through the node, `GET /v1/cache/{key}`, fetches one).
    public func localCacheValue(of key: [UInt8]) -> [UInt8]?? { localCacheReads.value(of: key) }
}
