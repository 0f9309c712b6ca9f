/// Log replication and commitment (Raft §5.3, §5.4.2) with etcd's flow control.
///
/// - The leader appends a proposal to its own log; all proposals made between two `Ready`s
///   go out together, as one AppendEntries per member, and reach the driver's storage as
///   one batch (one fsync). Per
///   member, `Progress` probes (one AppendEntries at a time) until the logs match, then
///   pipelines optimistically, batching up to `maxMessageBytes` per message and pausing at
///   `maxInflightMessages` or `maxInflightBytes` unacknowledged.
/// - A follower accepts entries only if its log holds `(prevIndex, prevTerm)`; conflicting
///   entries after it are replaced (never committed ones). A refusal carries a hint so the
///   leader skips a whole term of mismatching entries per round trip.
/// - The leader commits the highest index a majority of voters holds — only if that entry
///   is of its current term (§5.4.2, Figure 8). Its own entries count once persisted.
extension RaftNode {
    /// Appends `command` to the log for replication; returns the entry's identity, which
    /// the application watches for among committed entries. Only the leader accepts.
    @discardableResult
    public mutating func propose(_ command: [UInt8]) throws(RaftError) -> EntryID {
        try requireLeaderAcceptingProposals()
        guard command.count <= settings.maxEntryBytes else {
            throw .proposalTooLarge(bytes: command.count, limit: settings.maxEntryBytes)
        }
        let bytes = command.count + 16
        if uncommittedBytes > 0 && uncommittedBytes + bytes > settings.maxUncommittedBytes {
            throw .overloaded(uncommittedBytes: uncommittedBytes, limit: settings.maxUncommittedBytes)
        }
        let entry = appendAsLeader(.command(command))
        proposalsPending = true
        return entry
    }

    /// The transport could not reach `member`: stop streaming to it and probe instead.
    public mutating func reportUnreachable(_ member: NodeID) {
        guard role == .leader, var p = progress[member], p.state == .replicate else { return }
        p.becomeProbe()
        progress[member] = p
    }

    func requireLeaderAcceptingProposals() throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        if let t = transferee { throw .transferInProgress(to: t) }
    }

    /// Leader Append-Only: the leader only ever adds at the end of its own log.
    @discardableResult
    mutating func appendAsLeader(_ payload: EntryPayload) -> EntryID {
        let entry = Entry(index: log.lastIndex + 1, term: term, payload: payload)
        log.append([entry][...])
        uncommittedBytes += entry.byteCount
        if case let .configuration(c) = payload { applyConfiguration(c, at: entry.index) }
        return entry.id
    }

    mutating func broadcastAppend() {
        for member in progress.all.map(\.id) where member != id { sendAppend(to: member) }
    }

    /// Sends the next batch to `member` if its progress allows; a snapshot when the entries
    /// it needs are compacted away. Returns true when something was sent.
    @discardableResult
    mutating func sendAppend(to member: NodeID, allowEmpty: Bool = true) -> Bool {
        guard var p = progress[member], !p.isPaused else { return false }
        let prevIndex = p.next - 1
        guard let prevTerm = log.term(at: prevIndex),
              let entries = log.entries(from: p.next, through: log.lastIndex, maxBytes: settings.maxMessageBytes) else {
            return sendSnapshot(to: member)
        }
        if entries.isEmpty && !allowEmpty { return false }
        send(to: member, .appendEntries(AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: log.committed)))
        p.sent(through: entries.last?.index, bytes: entries.reduce(0) { $0 + $1.byteCount })
        progress[member] = p
        return true
    }

    mutating func broadcastHeartbeat() {
        let context = reads.latestContext ?? []
        for p in progress.all where p.id != id {
            // Never tell a follower to commit past what it is known to hold.
            send(to: p.id, .heartbeat(Heartbeat(commit: min(p.match, log.committed), context: context)))
        }
    }

    /// Raft Figure 2, AppendEntries receiver rules 1–5.
    mutating func handleAppendEntries(_ m: Message, _ append: AppendEntries) {
        if append.prevIndex < log.committed {
            // Everything through our commit index matches the leader's log already.
            send(to: m.from, .appendResponse(AppendResponse(reject: false, index: log.committed)))
            return
        }
        guard log.matchTerm(append.prevIndex, append.prevTerm) else {
            let hint = log.lastIndex(atOrBelow: append.prevIndex, withTermAtMost: append.prevTerm)
            send(to: m.from, .appendResponse(AppendResponse(reject: true, index: append.prevIndex,
                                                            hintIndex: hint, hintTerm: log.term(at: hint) ?? .zero)))
            return
        }
        let lastNew = append.prevIndex + append.entries.count
        if let position = log.firstConflict(in: append.entries) {
            // A correct leader never conflicts with a committed entry (Leader Completeness);
            // a message that would is not acted on.
            guard append.entries[position].index > log.committed else { return }
            let suffix = append.entries[position...]
            let truncated = log.append(suffix)
            if truncated || suffix.contains(where: \.isConfiguration) { refreshConfiguration() }
        }
        _ = log.commit(to: min(append.commit, lastNew))
        send(to: m.from, .appendResponse(AppendResponse(reject: false, index: lastNew)))
    }

    mutating func handleHeartbeat(_ m: Message, _ heartbeat: Heartbeat) {
        _ = log.commit(to: heartbeat.commit)
        send(to: m.from, .heartbeatResponse(HeartbeatResponse(context: heartbeat.context)))
    }

    mutating func handleAppendResponse(_ m: Message, _ response: AppendResponse) {
        guard var p = progress[m.from] else { return }
        p.recentActive = true
        if response.reject {
            // Fast backtracking: our last entry at or below the hint whose term is at most
            // the hint's term is the next candidate for a match.
            let probeAt = response.hintTerm > .zero
                ? log.lastIndex(atOrBelow: response.hintIndex, withTermAtMost: response.hintTerm)
                : response.hintIndex
            if p.refuse(response.index, probeAt: min(probeAt, response.index) + 1) {
                if p.state == .replicate { p.becomeProbe() }
                progress[m.from] = p
                sendAppend(to: m.from)
            } else {
                progress[m.from] = p
            }
            return
        }
        guard response.index <= log.lastIndex else {
            progress[m.from] = p
            return
        }
        let wasPaused = p.isPaused
        let stillProbing = p.state == .probe && p.match == response.index
        guard p.acknowledge(response.index) || stillProbing else {
            progress[m.from] = p
            return
        }
        switch p.state {
        case .probe:
            p.becomeReplicate()
        case .snapshot:
            if p.match + 1 >= log.firstIndex {
                p.becomeProbe()
                p.becomeReplicate()
            }
        case .replicate:
            p.inflights.free(through: response.index)
        }
        progress[m.from] = p
        if maybeCommit() {
            broadcastAppend()
        } else if wasPaused {
            sendAppend(to: m.from)
        }
        while sendAppend(to: m.from, allowEmpty: false) {}
        if m.from == transferee, progress[m.from]?.match == log.lastIndex {
            send(to: m.from, .timeoutNow)
        }
    }

    mutating func handleHeartbeatResponse(_ m: Message, _ response: HeartbeatResponse) {
        guard var p = progress[m.from] else { return }
        p.recentActive = true
        p.probeSent = false
        if p.state == .replicate && p.inflights.isFull { p.inflights.freeFirst() }
        progress[m.from] = p
        if p.match < log.lastIndex { sendAppend(to: m.from) }
        if !response.context.isEmpty { confirmReads(response.context, from: m.from) }
    }

    /// Raft §5.3/§5.4.2: commit the quorum's match index if its entry is of this term.
    mutating func maybeCommit() -> Bool {
        let index = progress.quorumMatch(configuration)
        guard index > log.committed, log.term(at: index) == term else { return false }
        let before = log.committed
        _ = log.commit(to: index)
        leaderCommitted(after: before)
        return true
    }

    mutating func leaderCommitted(after before: LogIndex) {
        uncommittedBytes = max(0, uncommittedBytes - log.bytes(after: before, through: log.committed))
        releaseReadsAwaitingCommit()
        if configurationIndex > before && configurationIndex <= log.committed && !configuration.isVoter(id) {
            stepDownAfterRemoval()
        }
    }
}

extension Entry {
    var isConfiguration: Bool { if case .configuration = payload { return true }; return false }
}
