/// Linearizable reads without writing to the log: ReadIndex (Raft dissertation §6.4).
///
/// 1. The leader must have committed an entry of its current term (so its commit index is
///    at least that of any earlier leader); requests wait until then.
/// 2. It records its commit index as the read index.
/// 3. It confirms it is still the leader with a heartbeat round carrying the request's
///    context: a majority of voters answering proves no newer leader existed when the
///    request arrived. One confirmation releases every earlier request too.
/// 4. The reader serves the read once its applied index reaches the read index. A follower
///    forwards its request to the leader and gets the index back.
extension RaftNode {
    /// Requests a read index for `context` (unique per request, 1...`maxReadContextBytes`
    /// bytes). The answer arrives as a `ReadState` in a later `Ready`. Requests lost in a
    /// change of leader are never answered: the caller retries after a timeout.
    ///
    /// Contexts must never repeat, on any node of the group: a heartbeat answer names only
    /// the context it echoes, so an answer delayed from an earlier round would count for a
    /// later request with the same context — and could confirm it for a leader that has
    /// been deposed since. `ReadContextSequence` makes such contexts. The leader refuses a
    /// context it already holds (`duplicateReadContext`); it cannot tell a repeat of one it
    /// already answered, which is why the driver's contexts must be unique.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        guard !context.isEmpty, context.count <= settings.maxReadContextBytes else {
            throw .invalidReadContext(bytes: context.count)
        }
        if role == .leader {
            try acceptReadIndex(from: id, context: context)
            return
        }
        guard let leader else { throw .noLeader }
        send(to: leader, .readIndex(ReadIndexRequest(context: context)))
    }

    /// Steps 1–3 for a request from `from` (this node or a follower). A follower's request
    /// that is refused is dropped; the follower's caller retries after its timeout.
    mutating func acceptReadIndex(from: NodeID, context: [UInt8]) throws(RaftError) {
        guard reads.count + readsAwaitingCommit.count < settings.maxPendingReads else {
            throw .tooManyPendingReads(limit: settings.maxPendingReads)
        }
        guard !reads.contains(context), !readsAwaitingCommit.contains(where: { $0.context == context }) else {
            throw .duplicateReadContext
        }
        let request = ReadRequest(index: log.committed, context: context, from: from)
        if log.term(at: log.committed) != term {
            readsAwaitingCommit.append(request)
        } else {
            confirmLeadership(for: request)
        }
    }

    mutating func confirmLeadership(for request: ReadRequest) {
        var request = request
        request.index = log.committed
        if configuration.voters == [id] {
            // The only voter: nobody else can have been elected.
            answer(request)
            return
        }
        request.acks = configuration.isVoter(id) ? [id] : []
        reads.add(request)
        broadcastHeartbeat()
    }

    mutating func confirmReads(_ context: [UInt8], from: NodeID) {
        for request in reads.acknowledge(context, from: from, configuration: configuration) { answer(request) }
    }

    mutating func answer(_ request: ReadRequest) {
        if request.from == id {
            readStates.append(ReadState(index: request.index, context: request.context))
        } else {
            send(to: request.from, .readIndexResponse(ReadIndexResponse(index: request.index, context: request.context)))
        }
    }

    /// Step 1 is met: start confirming the requests that waited for it.
    mutating func releaseReadsAwaitingCommit() {
        guard !readsAwaitingCommit.isEmpty, log.term(at: log.committed) == term else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for request in waiting { confirmLeadership(for: request) }
    }
}
