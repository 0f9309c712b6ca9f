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
/// Hits are handed back to the node (`takeServed`), so its hit count and LRU order see them:
/// at most `maxServedKeys` keys per hand-over refresh recency, every hit is counted.
public final class LocalCacheReads: Sendable {
    private struct State {
        var mirror = LocalCopyMirror()
        var served: [CacheKey] = []
    }
    private let state = Mutex(State())
    private let hitCount = Atomic<UInt64>(0)
    private let missCount = Atomic<UInt64>(0)
    private let handedOver = Atomic<UInt64>(0)

    /// Keys kept per hand-over for the node's LRU order; later hits still count.
    public static let maxServedKeys = 4_096

    public init() {}

    /// The local copy of `key` now: `.some(nil)` when the key is known absent, nil when this
    /// node holds no readable copy.
    public func value(of key: [UInt8]) -> [UInt8]?? {
        value(of: CacheKey(key), at: MonotonicClock.now())
    }

    /// The local copy of `key` now. A caller that reads the same keys again keeps them as
    /// `CacheKey`s: the key's bytes are then hashed once, not on every read.
    public func value(of key: CacheKey) -> [UInt8]?? {
        value(of: key, at: MonotonicClock.now())
    }

    /// The local copy of `key` at `now` (a reading of `MonotonicClock`).
    public func value(of key: CacheKey, at now: Instant) -> [UInt8]?? {
        let found = state.withLock { s -> [UInt8]?? in
            let found = s.mirror.value(of: key, at: now)
            if found != nil, s.served.count < Self.maxServedKeys { s.served.append(key) }
            return found
        }
        if found == nil { missCount.wrappingAdd(1, ordering: .relaxed) } else { hitCount.wrappingAdd(1, ordering: .relaxed) }
        return found
    }

    /// Reads answered from a copy, and reads that found none.
    public var hits: UInt64 { hitCount.load(ordering: .relaxed) }
    public var misses: UInt64 { missCount.load(ordering: .relaxed) }

    /// Keys mirrored (some may wait for their lease-end change).
    public var count: Int { state.withLock { $0.mirror.count } }

    /// The hits since the last call and the keys they read (at most `maxServedKeys`), for
    /// `Node.cacheReadsServedLocally`; the loop calls it.
    public func takeServed() -> (keys: [CacheKey], count: UInt64) {
        let keys = state.withLock { s -> [CacheKey] in
            let keys = s.served
            s.served = []
            return keys
        }
        let hits = hitCount.load(ordering: .relaxed)
        let before = handedOver.exchange(hits, ordering: .relaxed)
        return (keys, hits &- before)
    }

    /// Takes in a `.localCopies` effect. The agent's loop calls it in effect order; anything
    /// else that calls it (a benchmark filling a mirror) gives up the invariant above.
    public func apply(_ changes: [LocalCopyChange]) { state.withLock { $0.mirror.apply(changes) } }
    func removeAll() { state.withLock { $0.mirror.removeAll(); $0.served.removeAll() } }
}

extension Agent {
    /// This node's copy of cache key `key`, read with a function call from any thread:
    /// `.some(value)` (nil value: the key is absent) while the copy is readable, nil when the
    /// node holds none (a read through the node, `GET /v1/cache/{key}`, fetches one).
    public func localCacheValue(of key: [UInt8]) -> [UInt8]?? { localCacheReads.value(of: key) }
}
