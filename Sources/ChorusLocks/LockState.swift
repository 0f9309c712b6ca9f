/// The holders and the wait queue of one lock name, and the rules that say who may be granted.
///
/// Queue discipline: FIFO, with upgrades (a shared holder asking for exclusive) ahead of
/// every other waiter, FIFO among themselves. A request is granted only when it is
/// compatible with every other holder *and* nothing is queued ahead of it, so a waiting
/// exclusive request blocks later shared ones (no writer starvation).
///
/// Invariants, after every table operation: holders are pairwise compatible (one exclusive
/// holder alone, or shared holders only), no session appears twice among holders or among
/// waiters, upgrades precede other waiters, and the head of the queue is never grantable
/// (promotion runs after every change).
struct LockState: Hashable, Sendable {
    /// In grant order.
    var holders: [LockHolder] = []
    /// Queue order.
    var waiters: [LockWaiter] = []

    var isEmpty: Bool { holders.isEmpty && waiters.isEmpty }

    func holderIndex(of session: SessionID) -> Int? { holders.firstIndex { $0.session == session } }
    func waiterIndex(of session: SessionID) -> Int? { waiters.firstIndex { $0.session == session } }

    /// Whether `mode` for `session` is compatible with every holder other than the session.
    func compatibleWithHolders(_ session: SessionID, _ mode: LockMode) -> Bool {
        holders.allSatisfy { $0.session == session || $0.mode.isCompatible(with: mode) }
    }

    /// Whether a new request (the session holds nothing here) could be granted now.
    func canGrantNew(_ session: SessionID, _ mode: LockMode) -> Bool {
        waiters.isEmpty && compatibleWithHolders(session, mode)
    }

    /// Whether the shared holder `session` could become exclusive now: no other holder and no
    /// earlier upgrade queued. Ordinary waiters do not count: one behind the upgrade could not
    /// be granted before the session lets go of its shared hold anyway, so making the upgrade
    /// wait for it would be a deadlock by construction (InnoDB lets lock conversions pass
    /// waiters for the same reason).
    func canUpgrade(_ session: SessionID) -> Bool {
        !(waiters.first?.isUpgrade ?? false) && compatibleWithHolders(session, .exclusive)
    }

    /// Queues a waiter: upgrades after the queued upgrades, others at the end.
    mutating func enqueue(_ waiter: LockWaiter) {
        if waiter.isUpgrade {
            let position = waiters.firstIndex { !$0.isUpgrade } ?? waiters.endIndex
            waiters.insert(waiter, at: position)
        } else {
            waiters.append(waiter)
        }
    }

    /// Grants `waiter` (which the caller has checked is grantable) with `token`.
    mutating func grant(_ waiter: LockWaiter, token: FencingToken) {
        if waiter.isUpgrade, let i = holderIndex(of: waiter.session) {
            holders[i].mode = .exclusive
            holders[i].token = token
        } else {
            holders.append(LockHolder(name: waiter.name, session: waiter.session, mode: waiter.mode, token: token))
        }
    }

    /// Grants queued requests from the head while the head is compatible with the holders;
    /// stops at the first that is not (strict FIFO). Returns the waiters granted, in order.
    mutating func promote(token: FencingToken) -> [LockWaiter] {
        var granted: [LockWaiter] = []
        while let head = waiters.first, compatibleWithHolders(head.session, head.mode) {
            waiters.removeFirst()
            grant(head, token: token)
            granted.append(head)
        }
        return granted
    }

    /// Every session the waiter at `position` waits for: holders whose mode is incompatible
    /// with its request, and earlier waiters whose requested mode is. Sorted, no duplicates,
    /// never the waiter itself. Quadratic over a queue; the tests use it as the reference for
    /// `waitsFor(ofWaiterAt:)`.
    func blockers(ofWaiterAt position: Int) -> [SessionID] {
        let w = waiters[position]
        var out: [SessionID] = []
        for h in holders where h.session != w.session && !h.mode.isCompatible(with: w.mode) { out.append(h.session) }
        for e in waiters[..<position] where e.session != w.session && !e.mode.isCompatible(with: w.mode) { out.append(e.session) }
        return Array(Set(out)).sorted()
    }

    /// The waiter's edges in the wait-for graph: a subset of `blockers(ofWaiterAt:)` with the
    /// same transitive closure, so the graph has the same cycles, but O(queue) edges per lock
    /// instead of O(queue²). The queue is a sequence of groups — single exclusive waiters and
    /// runs of consecutive shared ones:
    /// - a shared waiter points at the nearest exclusive waiter ahead of it, or, with none
    ///   ahead, at the incompatible (exclusive) holder;
    /// - an exclusive waiter points at the waiter just ahead if that one is exclusive, at every
    ///   member of the shared run just ahead otherwise, and, at the head of the queue or
    ///   behind a shared run at the head, at every other holder.
    /// Each edge is a true blocker; and by induction along the queue every true blocker is
    /// reachable (an exclusive waiter reaches all holders and all waiters ahead of it, a
    /// shared one reaches the exclusive ones ahead and the exclusive holder).
    func waitsFor(ofWaiterAt position: Int) -> [SessionID] {
        let w = waiters[position]
        var out: [SessionID] = []
        if w.mode == .shared {
            if let x = waiters[..<position].last(where: { $0.mode == .exclusive }) {
                out.append(x.session)
            } else {
                for h in holders where h.session != w.session && h.mode == .exclusive { out.append(h.session) }
            }
        } else if position > 0 && waiters[position - 1].mode == .exclusive {
            out.append(waiters[position - 1].session)
        } else {
            var start = position
            while start > 0 && waiters[start - 1].mode == .shared { start -= 1 }
            for e in waiters[start..<position] { out.append(e.session) }
            if start == 0 { for h in holders where h.session != w.session { out.append(h.session) } }
        }
        return Array(Set(out)).sorted()
    }
}
