import ChorusBase
import ChorusRaft

/// The node's outbound peer calls in flight: who was asked, until when, and what the answer
/// is for. A call ends exactly once — by its reply (from the peer asked) or by its deadline.
///
/// Invariants: at most `maxPerPeer` calls per peer and `maxTotal` in all (`start` returns nil
/// past either: the caller answers "overloaded" instead of queueing without bound); call ids
/// are never reused within one node's life and start at a random value, so replies to an earlier life's calls do not match; `expired(at:)` reports in call-id order.
struct PeerCalls<Purpose> {
    struct Call {
        var peer: NodeID
        var deadline: Instant
        var purpose: Purpose
    }

    let maxPerPeer: Int
    let maxTotal: Int
    private var nextID: UInt64
    private var calls: [UInt64: Call] = [:]
    private var perPeer: [NodeID: Int] = [:]

    /// `firstID` should be random: a late reply to a call of this node's previous life must
    /// not match a call of this one (ids restart with every start).
    init(maxPerPeer: Int, maxTotal: Int, firstID: UInt64) {
        self.maxPerPeer = maxPerPeer
        self.maxTotal = maxTotal
        nextID = firstID
    }

    var count: Int { calls.count }
    func count(to peer: NodeID) -> Int { perPeer[peer] ?? 0 }

    /// Registers a call; its id, or nil when a bound is reached.
    mutating func start(to peer: NodeID, deadline: Instant, purpose: Purpose) -> UInt64? {
        guard calls.count < maxTotal, (perPeer[peer] ?? 0) < maxPerPeer else { return nil }
        let id = nextID
        nextID &+= 1
        calls[id] = Call(peer: peer, deadline: deadline, purpose: purpose)
        perPeer[peer, default: 0] += 1
        return id
    }

    /// Ends call `id` on a reply from `peer`; nil when no such call is in flight (a duplicate
    /// or late reply, or one from another node than the one asked).
    mutating func complete(_ id: UInt64, from peer: NodeID) -> Call? {
        guard let call = calls[id], call.peer == peer else { return nil }
        return end(id)
    }

    /// Ends and returns every call whose deadline has passed, oldest id first.
    mutating func expired(at now: Instant) -> [Call] {
        let due = calls.filter { $0.value.deadline <= now }.keys.sorted()
        return due.compactMap { end($0) }
    }

    /// Ends and returns every call to `peer`, oldest id first (its stream broke).
    mutating func removeAll(to peer: NodeID) -> [Call] {
        guard perPeer[peer] != nil else { return [] }
        return calls.filter { $0.value.peer == peer }.keys.sorted().compactMap { end($0) }
    }

    /// Ends and returns every call in flight (the node stops), oldest id first.
    mutating func removeAll() -> [Call] { calls.keys.sorted().compactMap { end($0) } }

    private mutating func end(_ id: UInt64) -> Call? {
        guard let call = calls.removeValue(forKey: id) else { return nil }
        let left = (perPeer[call.peer] ?? 1) - 1
        perPeer[call.peer] = left > 0 ? left : nil
        return call
    }
}
