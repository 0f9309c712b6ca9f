/// Counters of one node's cache (its controller and, when it homes keys, its directory).
/// Invariant: counters only grow; `bytes` and `directoryEntries` are gauges set on change.
public struct CacheMetrics: Hashable, Sendable {
    /// Reads answered from a local copy.
    public var hits: UInt64 = 0
    /// Reads that had to ask the home.
    public var misses: UInt64 = 0
    /// Writes and deletes asked of the home.
    public var writes: UInt64 = 0
    /// Client operations completed (any outcome).
    public var operations: UInt64 = 0
    /// `inv`, `fwdGetS` and `fwdGetM` sent by this node's directory (including resends).
    public var invalidationsSent: UInt64 = 0
    /// `inv`, `fwdGetS` and `fwdGetM` received by this node's controller.
    public var invalidationsReceived: UInt64 = 0
    /// Copies given up to make room (each sends a put).
    public var evictions: UInt64 = 0
    /// Copies dropped because their lease ran out.
    public var expirations: UInt64 = 0
    /// Coherence messages sent by the controller and the directory.
    public var messagesSent: UInt64 = 0
    /// Requests and puts sent again after a timeout.
    public var retransmissions: UInt64 = 0
    /// Bytes held by local copies.
    public var bytes: Int = 0
    /// Directory entries held by this node as a home.
    public var directoryEntries: Int = 0

    public init() {}

    /// Coherence messages per completed operation (0 before the first).
    public var messagesPerOperation: Double {
        operations == 0 ? 0 : Double(messagesSent) / Double(operations)
    }
    /// Share of reads answered locally.
    public var hitRate: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }
}
