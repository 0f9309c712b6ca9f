import ChorusBase

/// The knobs of the cache protocol, shared by `HomeDirectory` and `CacheController`. Every
/// node of a cluster must use the same lease and drift values (the home's waits are derived
/// from them). Invariant once `validate()` passes: every interval and bound is positive and
/// `maxClockDrift` is in [0, 0.5).
public struct CacheSettings: Hashable, Sendable {
    /// How long a copy may serve reads, counted by the holder from the moment it first sent
    /// the request that the copy answers (which precedes the grant). It is the staleness
    /// bound under partition: a node the home cannot reach stops reading its copy by then.
    /// 2 s: short enough for a bounded stale read, and several retransmission intervals long
    /// so a lossy path still renews in time.
    public var lease: Interval = .seconds(2)
    /// Largest relative difference between the rates of two nodes' clocks. The home waits
    /// `lease · (1 + drift) / (1 − drift)` of its own time before it treats an unanswered
    /// copy as gone. 1 %: far above quartz (≈ 10⁻⁵), as etcd's lease code also assumes.
    public var maxClockDrift: Double = 0.01
    /// How long a controller or home waits for an answer before sending again. 50 ms: a few
    /// round trips on a LAN plus a Raft commit.
    public var retransmitAfter: Interval = .milliseconds(50)
    /// How long a new home holds back every request after it takes over a key's shard: the
    /// old home's copies may still be read until their leases end. The driver must add the
    /// old home's longest possible remaining tenure (leader lease) to `homeLeaseBound`.
    public var takeoverQuiet: Interval? = nil
    /// Byte budget of the local copies (keys, values and `LocalCache.entryOverhead`).
    /// 64 MiB by default; the node layer sets it from a share of memory.
    public var maxBytes: Int = 64 << 20
    /// Client operations parked per key behind a request in flight; one more is refused.
    public var maxWaitersPerKey: Int = 1_024
    /// Requests queued per key at the home behind its transaction; one more is dropped (the
    /// sender retransmits).
    public var maxQueuePerKey: Int = 1_024
    /// Directory entries a home keeps. Above it, reads are answered `uncached` and writes
    /// grant no ownership, so the directory never grows past it.
    public var maxDirectoryEntries: Int = 1_000_000
    /// Whether a read of a key nobody holds is granted an exclusive copy (MESI's E). With
    /// writes written through, E saves the invalidation of the only reader on a later write.
    public var grantExclusive: Bool = true
    /// Whether values are `CacheRecord`s whose lifetime ends a copy: a copy installed from data
    /// whose record says `.after(d)` stops serving `d` after its request was first sent, or at
    /// its lease end if that is sooner. Off for opaque values (the cores' own tests); the node
    /// layer turns it on.
    public var copiesEndWithRecords: Bool = false
    /// Test-only: the home sends `data` with one ack fewer than it invalidated, the planted
    /// bug the simulation's checker must catch. Never set outside tests.
    public var plantedBug: Bool = false

    public init() {}

    /// The home-side bound on how long a copy may still be read after its grant.
    public var homeLeaseBound: Interval {
        let factor = (1 + maxClockDrift) / (1 - maxClockDrift)
        return Interval(nanoseconds: Int64((Double(lease.nanoseconds) * factor).rounded(.up)))
    }

    /// What a new home waits before serving: `takeoverQuiet` when set, else the lease bound.
    public var quietAfterTakeover: Interval { takeoverQuiet ?? homeLeaseBound }

    /// Refuses an invalid combination with a message naming the setting and its rule.
    public func validate() throws(CacheSettingsError) {
        if lease <= .zero { throw CacheSettingsError("lease must be positive, got \(lease)") }
        if lease > .seconds(86_400) { throw CacheSettingsError("lease must be at most one day, got \(lease)") }
        if !(maxClockDrift >= 0 && maxClockDrift < 0.5) {
            throw CacheSettingsError("max_clock_drift must be in [0, 0.5), got \(maxClockDrift)")
        }
        if retransmitAfter <= .zero { throw CacheSettingsError("retransmit_after must be positive, got \(retransmitAfter)") }
        if let q = takeoverQuiet, q < homeLeaseBound {
            throw CacheSettingsError("takeover_quiet (\(q)) must be at least the lease bound (\(homeLeaseBound))")
        }
        for (name, value) in [("max_bytes", maxBytes), ("max_waiters_per_key", maxWaitersPerKey),
                              ("max_queue_per_key", maxQueuePerKey), ("max_directory_entries", maxDirectoryEntries)]
        where value < 1 {
            throw CacheSettingsError("\(name) must be positive, got \(value)")
        }
    }
}

/// A setting that failed validation. Invariant: the message names the setting and its rule.
public struct CacheSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
