/// Where a partition keeps message bodies, apart from the small per-message records, so
/// that a driver can keep them on disk (an append-only body log, `docs/queue.md`) while the
/// partition's in-memory state stays bounded by its record count.
///
/// The partition calls `put` when it stores a message, `remove` when the message is gone
/// for good (acked, purged, dropped after its move to a dead-letter queue), and `body` when
/// it delivers one, all inside `apply`, in log order. Bodies are keyed by offset, which the
/// replicated state assigns, so the store's layout is each replica's own business.
///
/// Contract: after `put(b, at: o)` and before `remove(o)`, `body(at: o)` returns `b`. A
/// store that cannot keep it (a lost disk) must stop its node, not answer something else.
public protocol MessageBodyStore {
    mutating func put(_ body: [UInt8], at offset: UInt64)
    func body(at offset: UInt64) -> [UInt8]?
    mutating func remove(_ offset: UInt64)
    /// The size of the body at `offset`, without reading it (a disk store answers from its
    /// index: restoring an external snapshot checks every body this way).
    func bodyBytes(at offset: UInt64) -> Int?
}

extension MessageBodyStore {
    public func bodyBytes(at offset: UInt64) -> Int? { body(at: offset)?.count }
}

/// Bodies in memory: the store for tests, the simulator and small queues (`SegmentBodyStore`
/// is the one on disk).
/// Invariant: holds exactly the bodies put and not yet removed.
public struct MemoryBodyStore: MessageBodyStore, Hashable, Sendable {
    private var bodies: [UInt64: [UInt8]] = [:]

    public init() {}

    public var count: Int { bodies.count }
    public mutating func put(_ body: [UInt8], at offset: UInt64) { bodies[offset] = body }
    public func body(at offset: UInt64) -> [UInt8]? { bodies[offset] }
    public mutating func remove(_ offset: UInt64) { bodies[offset] = nil }
}
