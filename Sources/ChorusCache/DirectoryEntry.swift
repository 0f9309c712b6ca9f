import ChorusBase

/// The states of one key at its home. Stable: I (no copy), S (sharers), E (one clean
/// owner), M (one owner that wrote). Transient: `loading` (the durable value is being read,
/// or a new home is waiting out the old one's leases), `writing` (a write is being written
/// through, invalidations are out), `granting` (data is out; waiting for the requester's
/// unblock). The home is a blocking directory: one transaction per key at a time, the
/// rest queue in arrival order.
public enum HomeState: String, Sendable, CaseIterable {
    case I, S, E, M, loading, writing, granting
}

/// A node the directory counts as holding a copy. Invariant: `leaseEnd` is the home's
/// bound on when that copy stops being read (grant time + `homeLeaseBound`).
struct Holder: Hashable, Sendable {
    var node: CacheNodeID
    var grant: TxnID
    var leaseEnd: Instant
}

/// A request waiting behind the key's transaction.
struct QueuedRequest: Hashable, Sendable {
    var from: CacheNodeID
    var tag: RequestTag
    var write: Bool
    var value: [UInt8]?
}

/// A holder the transaction revokes, and how.
struct RevokeTarget: Hashable, Sendable {
    var holder: Holder
    var kind: RevokeKind
}

/// The one transaction in flight for a key. Invariant: `dataSentAt != nil` exactly when the
/// entry is `granting`.
struct HomeTxn: Sendable {
    var id: TxnID
    var request: QueuedRequest
    var grant: Grant
    var targets: [RevokeTarget]
    /// The owner a read downgrades; it becomes a sharer when the read completes.
    var priorOwner: Holder?
    var writeDone = false
    /// What the durable layer made of the write when it differs from the request's value
    /// (an increment's result, a set's fixed expiry); sent to the writer with its data.
    var result: [UInt8]?? = nil
    var requesterDead = false
    var dataSentAt: Instant? = nil
    var lastSent: Instant
}

/// One key's directory entry. Invariants: `owner != nil` ⇒ `sharers` is empty; `sharers`
/// is sorted by node without repeats; `fenceUntil` bounds every copy the entry stopped
/// counting without an ack (dropped members, aborted transactions): no write completes and
/// no copy is granted before it.
struct DirectoryEntry: Sendable {
    var loaded = false
    var value: [UInt8]? = nil
    var version: UInt64 = 0
    var owner: Holder? = nil
    var ownerWrote = false
    var sharers: [Holder] = []
    var txn: HomeTxn? = nil
    var queue: [QueuedRequest] = []
    var fenceUntil: Instant = .zero
    /// Until this instant a copy of an older value than `value` may still be read (a write
    /// was written through, then its transaction ended without the acks of its revoked
    /// holders): no transaction starts, reads included — a read answered with `value` before
    /// it would let an older value be read after a newer one. Never later than `fenceUntil`.
    var staleUntil: Instant = .zero

    var state: HomeState {
        if !loaded { return .loading }
        if let txn { return txn.dataSentAt == nil ? .writing : .granting }
        if owner != nil { return ownerWrote ? .M : .E }
        return sharers.isEmpty ? .I : .S
    }

    var holdsCopies: Bool { owner != nil || !sharers.isEmpty }

    mutating func addSharer(_ holder: Holder) {
        sharers.removeAll { $0.node == holder.node }
        let at = sharers.firstIndex { $0.node > holder.node } ?? sharers.count
        sharers.insert(holder, at: at)
    }

    /// Stops counting `node`'s copy; its lease end joins the fence.
    mutating func drop(_ node: CacheNodeID) {
        if let o = owner, o.node == node {
            fence(o.leaseEnd)
            owner = nil
            ownerWrote = false
        }
        if let s = sharers.first(where: { $0.node == node }) {
            fence(s.leaseEnd)
            sharers.removeAll { $0.node == node }
        }
    }

    mutating func fence(_ until: Instant) { if until > fenceUntil { fenceUntil = until } }
}

/// What a home remembers of one requester, to tell new requests from duplicates.
/// Invariant: `finished` is sorted, holds sequences at or above `floor`, and has at most
/// `RequesterRecord.limit` elements.
struct RequesterRecord: Sendable {
    static let limit = 4_096
    var incarnation: UInt64
    var floor: UInt64
    var finished: [UInt64] = []

    enum Verdict { case live, finished, stale }

    mutating func classify(_ tag: RequestTag, floor newFloor: UInt64) -> Verdict {
        if tag.incarnation < incarnation { return .stale }
        if tag.incarnation > incarnation { self = RequesterRecord(incarnation: tag.incarnation, floor: newFloor) }
        if newFloor > floor {
            floor = newFloor
            let cut = finished.firstIndex { $0 >= floor } ?? finished.count
            finished.removeFirst(cut)
        }
        if tag.sequence < floor { return .stale }
        return binarySearch(tag.sequence) != nil ? .finished : .live
    }

    mutating func finish(_ sequence: UInt64) {
        guard sequence >= floor, binarySearch(sequence) == nil else { return }
        let at = finished.firstIndex { $0 > sequence } ?? finished.count
        finished.insert(sequence, at: at)
        if finished.count > Self.limit { finished.removeFirst() }
    }

    private func binarySearch(_ x: UInt64) -> Int? {
        var lo = 0, hi = finished.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if finished[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < finished.count && finished[lo] == x ? lo : nil
    }
}
