/// A read that may be served once the application has applied `index` (Raft §6.4).
/// Invariant: `index` was the leader's commit index at a time it was provably the leader,
/// so the read sees every write acknowledged before it was requested.
public struct ReadState: Hashable, Sendable {
    public var index: LogIndex
    public var context: [UInt8]
    @inlinable public init(index: LogIndex, context: [UInt8]) { self.index = index; self.context = context }
}

/// One ReadIndex request the leader holds until a heartbeat round confirms its leadership.
struct ReadRequest: Sendable {
    var index: LogIndex
    var context: [UInt8]
    /// Who asked: the leader itself, or a follower to answer with `readIndexResponse`.
    var from: NodeID
    /// Members whose heartbeat answer carried this request's context (or a later one's).
    var acks: [NodeID] = []
}

/// The leader's ReadIndex requests waiting for confirmation, oldest first (etcd's readOnly).
///
/// Invariants: requests are in arrival order, so their indices never decrease; an
/// acknowledgement for one request confirms leadership for every earlier one too, so
/// confirming a request releases it and everything before it; `contexts` holds exactly the
/// contexts of `requests` (a set for lookup only, never iterated).
struct ReadIndexQueue: Sendable {
    private(set) var requests: [ReadRequest] = []
    private var contexts: Set<[UInt8]> = []

    var count: Int { requests.count }
    var latestContext: [UInt8]? { requests.last?.context }

    func contains(_ context: [UInt8]) -> Bool { contexts.contains(context) }

    mutating func add(_ request: ReadRequest) {
        requests.append(request)
        contexts.insert(request.context)
    }

    /// `from` answered a heartbeat carrying `context`. Returns the requests confirmed by it,
    /// oldest first, removed from the queue.
    mutating func acknowledge(_ context: [UInt8], from: NodeID, configuration: Configuration) -> [ReadRequest] {
        guard contexts.contains(context), let position = requests.firstIndex(where: { $0.context == context }) else { return [] }
        if !requests[position].acks.contains(from) { requests[position].acks.append(from) }
        let votes = requests[position].acks.filter { configuration.isVoter($0) }.count
        guard votes >= configuration.quorum else { return [] }
        let released = Array(requests[...position])
        requests.removeFirst(position + 1)
        for r in released { contexts.remove(r.context) }
        return released
    }

    mutating func removeAll() {
        requests.removeAll()
        contexts.removeAll()
    }
}
