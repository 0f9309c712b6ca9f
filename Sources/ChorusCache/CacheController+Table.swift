import ChorusBase

/// What can happen to one key's line at a controller.
enum LineEvent {
    case read(ClientOpID, home: CacheNodeID)
    case write(ClientOpID, [UInt8]?, home: CacheNodeID)
    /// The LRU gave the copy up to make room (it is already out of the cache).
    case evict(CacheCopy)
    case data(DataArrival, RequestTag, from: CacheNodeID)
    case revoke(RevokeKind, TxnID, requester: CacheNodeID, RequestTag)
    case invAck(RequestTag, CacheNodeID)
    case putAck(TxnID)
    case nack(RequestTag)
    /// The key's home went away; the new one, if the node layer knows it.
    case homeLost(CacheNodeID?)
}

/// The three messages that take a copy away (or, for `fwdGetS`, its write permission).
enum RevokeKind { case inv, fwdGetS, fwdGetM }

extension CacheController {
    /// The transition table: one case per (state, event) group. Every message has an
    /// answer in every state (acks are always sent, stale data is unblocked), so no
    /// interleaving of the network can leave a peer waiting on this line.
    mutating func step(_ key: CacheKey, _ event: LineEvent, at now: Instant, into effects: inout [CacheEffect]) {
        // A read never changes what is readable (a hit only touches the LRU; a miss starts a
        // request whose data is a step of its own), so the hit path notes nothing.
        if case .read = event {} else { touched.append(key) }
        let state: LineState
        if case let .evict(copy) = event { state = copy.state } else {
            state = self.state(of: key, at: now)
            if state == .I, copies.peek(key) != nil {
                copies.remove(key)
                touched.append(key)
                metrics.expirations &+= 1
            }
        }
        switch event {
        case let .read(op, home):
            switch state {
            case .I:
                metrics.misses &+= 1
                startRequest(key, .read, state: .IS_D, home: home, at: now, into: &effects) { $0.readers = [op] }
            case .S, .E, .M:
                metrics.hits &+= 1
                var departed: [(CacheKey, CacheCopy, LocalCache<CacheCopy>.Departure)] = []
                let copy = copies.get(key, at: now, departed: &departed)
                finish(op, .value(copy?.value ?? nil), into: &effects)
            case .SM_AD, .SM_A, .MM_D:
                if let value = readableValue(of: key, at: now) {
                    metrics.hits &+= 1
                    finish(op, .value(value), into: &effects)
                } else {
                    park(key, .read(op, home: home), into: &effects)
                }
            case .IS_D, .IS_D_I:
                if let n = pending[key]?.readers.count, n < settings.maxWaitersPerKey {
                    metrics.misses &+= 1
                    pending[key]?.readers.append(op)
                } else {
                    park(key, .read(op, home: home), into: &effects)
                }
            case .IS_A, .IM_AD, .IM_A, .SI_A, .EI_A, .MI_A, .II_A:
                park(key, .read(op, home: home), into: &effects)
            }

        case let .write(op, value, home):
            switch state {
            case .I:
                metrics.writes &+= 1
                startRequest(key, .write(upgrade: false), state: .IM_AD, home: home, at: now, into: &effects) {
                    $0.writer = op; $0.writeValue = value
                }
            case .S, .E, .M:
                metrics.writes &+= 1
                let leaseEnd = copies.expiry(of: key) ?? now
                guard let copy = copies.remove(key) else { break }
                let upgrade = state == .S
                startRequest(key, .write(upgrade: upgrade), state: upgrade ? .SM_AD : .MM_D, home: copy.home,
                             at: now, into: &effects) {
                    $0.writer = op; $0.writeValue = value; $0.retained = copy; $0.retainedLeaseEnd = leaseEnd
                }
            case .IS_D, .IS_D_I, .IS_A, .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D, .SI_A, .EI_A, .MI_A, .II_A:
                park(key, .write(op, value, home: home), into: &effects)
            }

        case let .evict(copy):
            // Only stable copies sit in the LRU.
            switch state {
            case .S: startPut(key, .SI_A, .putS(key: key, grant: copy.grant), copy, at: now, into: &effects)
            case .E: startPut(key, .EI_A, .putE(key: key, grant: copy.grant), copy, at: now, into: &effects)
            case .M:
                startPut(key, .MI_A, .putM(key: key, grant: copy.grant, version: copy.version), copy,
                         at: now, into: &effects)
            case .I, .IS_D, .IS_D_I, .IS_A, .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D, .SI_A, .EI_A, .MI_A, .II_A:
                break
            }

        case let .data(arrival, tag, sender):
            switch state {
            case .IS_D, .IS_D_I, .IM_AD, .SM_AD, .MM_D:
                if let line = pending[key], line.tag == tag {
                    acceptData(key, arrival, at: now, into: &effects)
                } else {
                    answerStale(key, arrival, from: sender, into: &effects)
                }
            case .IS_A, .IM_A, .SM_A:
                // The same data again (the home resent it): still waiting for acks.
                if pending[key]?.tag != tag { answerStale(key, arrival, from: sender, into: &effects) }
            case .I, .S, .E, .M, .SI_A, .EI_A, .MI_A, .II_A:
                answerStale(key, arrival, from: sender, into: &effects)
            }

        case let .revoke(kind, txn, requester, tag):
            // Every state acknowledges; only a revocation newer than the copy takes it.
            ack(key, tag, requester, into: &effects)
            switch state {
            case .I, .II_A:
                break
            case .S, .E, .M:
                guard var copy = copies.peek(key), txn > copy.grant else { break }
                if kind == .fwdGetS, let end = copies.expiry(of: key) {
                    copy.state = .S
                    copy.grant = txn
                    var departed: [(CacheKey, CacheCopy, LocalCache<CacheCopy>.Departure)] = []
                    copies.put(key, copy, cost: copy.cost, expires: end, departed: &departed)
                    absorb(departed, at: now, into: &effects)
                } else {
                    copies.remove(key)
                }
            case .IS_D, .IS_D_I, .IS_A, .IM_AD, .IM_A:
                // An invalidation may overtake the data it follows: decided when data comes.
                noteInvalidation(key, txn)
                if state == .IS_D { pending[key]?.state = .IS_D_I }
            case .SM_AD, .SM_A, .MM_D:
                noteInvalidation(key, txn)
                if let retained = pending[key]?.retained, txn > retained.grant {
                    pending[key]?.retained = nil
                    pending[key]?.state = state == .SM_A ? .IM_A : .IM_AD
                }
            case .SI_A, .EI_A, .MI_A:
                // A put crossing a forwarded request or an invalidation: give the copy up now.
                if let grant = pending[key]?.putGrant, txn > grant { pending[key]?.state = .II_A }
            }

        case let .invAck(tag, acker):
            switch state {
            case .IS_D, .IS_D_I, .IS_A, .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D:
                // Acks may come before the data; they are kept until it does.
                guard var line = pending[key], line.tag == tag else { break }
                let at = line.ackers.firstIndex { $0 >= acker } ?? line.ackers.count
                if at == line.ackers.count || line.ackers[at] != acker { line.ackers.insert(acker, at: at) }
                pending[key] = line
                if line.acksComplete { complete(key, at: now, into: &effects) }
            case .I, .S, .E, .M, .SI_A, .EI_A, .MI_A, .II_A:
                break
            }

        case let .putAck(grant):
            switch state {
            case .SI_A, .EI_A, .MI_A, .II_A:
                guard pending[key]?.putGrant == grant else { break }
                pending[key] = nil
                drain(key, at: now, into: &effects)
            case .I, .S, .E, .M, .IS_D, .IS_D_I, .IS_A, .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D:
                break
            }

        case let .nack(tag):
            // The home finished this request without the answer arriving (this node was
            // declared dead meanwhile).
            guard let line = pending[key], line.tag == tag else { break }
            switch state {
            case .IS_D, .IS_D_I:
                reissueRead(key, home: line.home, at: now, into: &effects)
            case .IS_A:
                abandon(key, at: now, into: &effects)
            case .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D:
                // A write's request finishes at the home only after its write-through.
                if let writer = line.writer { finish(writer, .written, into: &effects) }
                abandon(key, at: now, into: &effects)
            case .I, .S, .E, .M, .SI_A, .EI_A, .MI_A, .II_A:
                break
            }

        case let .homeLost(newHome):
            switch state {
            case .IS_D, .IS_D_I:
                if let newHome { reissueRead(key, home: newHome, at: now, into: &effects) } else {
                    for reader in pending[key]?.readers ?? [] { finish(reader, .failed(.noHome), into: &effects) }
                    pending[key]?.readers = []
                    abandon(key, at: now, into: &effects)
                }
            case .IM_AD, .IM_A, .SM_AD, .SM_A, .MM_D:
                // The old home may have written it through: the outcome is unknown.
                if let writer = pending[key]?.writer { finish(writer, .failed(.outcomeUnknown), into: &effects) }
                abandon(key, at: now, into: &effects)
            case .IS_A, .SI_A, .EI_A, .MI_A, .II_A:
                abandon(key, at: now, into: &effects)
            case .I, .S, .E, .M:
                copies.remove(key)
            }
        }
    }

    // MARK: actions of the table

    mutating func startRequest(_ key: CacheKey, _ kind: RequestKind, state: LineState, home: CacheNodeID,
                               at now: Instant, into effects: inout [CacheEffect],
                               _ fill: (inout PendingLine) -> Void) {
        var line = PendingLine(state: state, home: home, kind: kind, tag: newTag(), firstSent: now, lastSent: now)
        fill(&line)
        pending[key] = line
        if let message = requestMessage(key, line) { send(message, to: home, into: &effects) }
    }

    mutating func reissueRead(_ key: CacheKey, home: CacheNodeID, at now: Instant, into effects: inout [CacheEffect]) {
        guard var line = pending[key] else { return }
        closeTag(line.tag)
        line.tag = newTag()
        line.home = home
        line.state = .IS_D
        line.firstSent = now
        line.lastSent = now
        line.ackers = []
        line.data = nil
        line.invalidatedBy = nil
        pending[key] = line
        if let message = requestMessage(key, line) { send(message, to: home, into: &effects) }
    }

    mutating func startPut(_ key: CacheKey, _ state: LineState, _ message: CacheMessage, _ copy: CacheCopy,
                           at now: Instant, into effects: inout [CacheEffect]) {
        pending[key] = PendingLine(state: state, home: copy.home, firstSent: now, lastSent: now,
                                   putGrant: copy.grant, putMessage: message)
        send(message, to: copy.home, into: &effects)
    }

    mutating func acceptData(_ key: CacheKey, _ arrival: DataArrival, at now: Instant, into effects: inout [CacheEffect]) {
        guard var line = pending[key] else { return }
        line.data = arrival
        if line.kind == .read {
            // The home serialises the key, so its value is current when it answers: the
            // read may end now even if the old owner's ack is still on its way.
            for reader in line.readers { finish(reader, .value(arrival.value), into: &effects) }
            line.readers = []
        }
        pending[key] = line
        if line.acksComplete { return complete(key, at: now, into: &effects) }
        switch line.kind {
        case .read: pending[key]?.state = .IS_A
        case .write: pending[key]?.state = line.retained == nil ? .IM_A : .SM_A
        }
    }

    /// Data and every ack are in: answer, keep the copy if nothing newer revoked it and its
    /// lease still runs, and let the home go on.
    mutating func complete(_ key: CacheKey, at now: Instant, into effects: inout [CacheEffect]) {
        guard let line = pending.removeValue(forKey: key), let data = line.data else { return }
        closeTag(line.tag)
        let keep = line.invalidatedBy.map { $0 < data.txn } ?? true
        var leaseEnd = line.firstSent + settings.lease
        if settings.copiesEndWithRecords, let value = line.kind == .read || data.carriesValue ? data.value : line.writeValue,
           let life = CacheRecord.lifetime(ofEncoded: value) {
            // The home sent the time left by its clock; counted from the first send, which
            // precedes the home's answer, the copy ends no later than the home's expiry.
            leaseEnd = min(leaseEnd, line.firstSent + life)
        }
        switch line.kind {
        case .read:
            for reader in line.readers { finish(reader, .value(data.value), into: &effects) }
            if keep, data.grant == .shared || data.grant == .exclusive {
                let copy = CacheCopy(state: data.grant == .shared ? .S : .E, value: data.value,
                                     version: data.version, grant: data.txn, home: line.home)
                install(key, copy, leaseEnd: leaseEnd, at: now, into: &effects)
            }
        case .write:
            if let writer = line.writer {
                let outcome: CacheOutcome = data.grant == .refused ? .failed(.refused)
                    : data.carriesValue ? .writtenValue(data.value) : .written
                finish(writer, outcome, into: &effects)
            }
            if keep, data.grant == .modified {
                let copy = CacheCopy(state: .M, value: data.carriesValue ? data.value : line.writeValue, version: data.version,
                                     grant: data.txn, home: line.home)
                install(key, copy, leaseEnd: leaseEnd, at: now, into: &effects)
            }
        }
        send(.unblock(key: key, txn: data.txn), to: line.home, into: &effects)
        rememberCompleted(key, data.txn)
        drain(key, at: now, into: &effects)
    }

    /// Drops the pending line without a copy.
    mutating func abandon(_ key: CacheKey, at now: Instant, into effects: inout [CacheEffect]) {
        guard let line = pending.removeValue(forKey: key) else { return }
        closeTag(line.tag)
        drain(key, at: now, into: &effects)
    }

    /// Data for a request this line no longer waits for. If this node completed that very
    /// transaction, its unblock was lost and the home is still waiting: unblock again.
    /// Anything else (a request abandoned, a previous life's request) gets no unblock, since
    /// the home would then count a copy this node does not have and stop waiting for acks
    /// nobody collected.
    mutating func answerStale(_ key: CacheKey, _ arrival: DataArrival, from sender: CacheNodeID,
                              into effects: inout [CacheEffect]) {
        guard recentlyCompleted[key] == arrival.txn else { return }
        send(.unblock(key: key, txn: arrival.txn), to: sender, into: &effects)
    }

    mutating func ack(_ key: CacheKey, _ tag: RequestTag, _ requester: CacheNodeID, into effects: inout [CacheEffect]) {
        send(.invAck(key: key, tag: tag, acker: node), to: requester, into: &effects)
    }

    mutating func noteInvalidation(_ key: CacheKey, _ txn: TxnID) {
        guard let line = pending[key] else { return }
        if line.invalidatedBy.map({ txn > $0 }) ?? true { pending[key]?.invalidatedBy = txn }
    }

    mutating func park(_ key: CacheKey, _ op: ParkedOp, into effects: inout [CacheEffect]) {
        let count = parked[key]?.count ?? 0
        guard count < settings.maxWaitersPerKey else {
            switch op {
            case let .read(id, _), let .write(id, _, _): finish(id, .failed(.overloaded), into: &effects)
            }
            return
        }
        parked[key, default: []].append(op)
    }
}
