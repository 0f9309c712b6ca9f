import ChorusBase

/// What can happen to one key's directory entry.
enum HomeEvent {
    case request(QueuedRequest)
    case put(CacheNodeID, TxnID)
    case unblock(CacheNodeID, TxnID)
    case loaded([UInt8]?, UInt64)
    case writeDone(TxnID, result: [UInt8]??)
    case writeRefused(TxnID)
    case writeFailed(TxnID)
    case memberDead(CacheNodeID)
    case tick
}

extension HomeDirectory {
    /// The transition table of the home: one case per (event, state) group. Requests queue;
    /// the queue's head starts a transaction whenever the entry is stable (see `advance`).
    mutating func step(_ key: CacheKey, _ event: HomeEvent, at now: Instant, into effects: inout [HomeEffect]) {
        var entry: DirectoryEntry
        if let known = entries[key] {
            entry = known
        } else {
            switch event {
            case .request:
                entry = DirectoryEntry()
                effects.append(.load(key))
            case let .put(from, grant):
                // Nothing is known of the key: the copy is already not counted.
                return send(.putAck(key: key, grant: grant), to: from, into: &effects)
            case .unblock, .loaded, .writeDone, .writeRefused, .writeFailed, .memberDead, .tick:
                return
            }
        }
        let state = entry.state
        // Copies whose lease bound has passed can no longer be read: stop counting them.
        if state == .S || state == .E || state == .M {
            entry.sharers.removeAll { $0.leaseEnd <= now }
            if let o = entry.owner, o.leaseEnd <= now { entry.owner = nil; entry.ownerWrote = false }
        }

        switch event {
        case let .request(r):
            switch state {
            case .granting where entry.txn?.request.from == r.from && entry.txn?.request.tag == r.tag:
                // The requester asks again: its data was lost.
                sendData(key, &entry, at: now, into: &effects)
            case .writing where entry.txn?.request.from == r.from && entry.txn?.request.tag == r.tag:
                break
            case .I, .S, .E, .M, .loading, .writing, .granting:
                let queued = entry.queue.contains { $0.from == r.from && $0.tag == r.tag }
                if !queued && entry.queue.count < settings.maxQueuePerKey { entry.queue.append(r) }
            }

        case let .put(from, grant):
            switch state {
            case .granting where entry.txn?.request.from == from && entry.txn?.id == grant:
                // The requester finished and evicted before its unblock arrived.
                finishTxn(&entry, at: now)
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }
            if let o = entry.owner, o.node == from, o.grant == grant { entry.owner = nil; entry.ownerWrote = false }
            entry.sharers.removeAll { $0.node == from && $0.grant == grant }
            send(.putAck(key: key, grant: grant), to: from, into: &effects)

        case let .unblock(from, txn):
            switch state {
            case .granting where entry.txn?.request.from == from && entry.txn?.id == txn:
                finishTxn(&entry, at: now)
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }

        case let .loaded(value, version):
            switch state {
            case .loading:
                entry.loaded = true
                entry.value = value
                entry.version = version
            case .I, .S, .E, .M, .writing, .granting:
                break
            }

        case let .writeDone(txn, result):
            switch state {
            case .writing where entry.txn?.id == txn:
                guard var t = entry.txn else { break }
                entry.value = result ?? t.request.value
                entry.version &+= 1
                t.writeDone = true
                t.result = result
                entry.txn = t
                if t.requesterDead { abort(&entry, finished: true, at: now) } else {
                    sendDataIfUnfenced(key, &entry, at: now, into: &effects)
                }
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }

        case let .writeRefused(txn):
            switch state {
            case .writing where entry.txn?.id == txn:
                // Nothing changed durably: the entry keeps its value and version; the writer
                // hears the refusal once its revocations are acked, like any write.
                guard var t = entry.txn else { break }
                t.writeDone = true
                t.grant = .refused
                entry.txn = t
                if t.requesterDead { abort(&entry, finished: true, at: now) } else {
                    sendDataIfUnfenced(key, &entry, at: now, into: &effects)
                }
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }

        case let .writeFailed(txn):
            switch state {
            case .writing where entry.txn?.id == txn && entry.txn?.writeDone == false:
                abort(&entry, finished: false, at: now)
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }

        case let .memberDead(dead):
            entry.drop(dead)
            entry.queue.removeAll { $0.from == dead }
            switch state {
            case .writing where entry.txn?.request.from == dead && entry.txn?.writeDone == false:
                entry.txn?.requesterDead = true
            case .writing where entry.txn?.request.from == dead, .granting where entry.txn?.request.from == dead:
                abort(&entry, finished: true, at: now)
            case .I, .S, .E, .M, .loading, .writing, .granting:
                break
            }

        case .tick:
            switch state {
            case .writing, .granting:
                retransmit(key, &entry, at: now, into: &effects)
            case .I, .S, .E, .M, .loading:
                break
            }
        }

        advance(key, &entry, at: now, into: &effects)
        store(key, entry, at: now)
    }

    // MARK: actions of the table

    /// Starts the queue's head when the entry is stable and the home is serving.
    mutating func advance(_ key: CacheKey, _ entry: inout DirectoryEntry, at now: Instant,
                          into effects: inout [HomeEffect]) {
        guard entry.loaded, entry.txn == nil, !entry.queue.isEmpty, now >= servingFrom, now >= entry.staleUntil else { return }
        begin(key, entry.queue.removeFirst(), &entry, at: now, into: &effects)
    }

    mutating func begin(_ key: CacheKey, _ r: QueuedRequest, _ entry: inout DirectoryEntry, at now: Instant,
                        into effects: inout [HomeEffect]) {
        let id = nextTxn()
        let full = entries[key] == nil ? entries.count >= settings.maxDirectoryEntries
                                       : entries.count > settings.maxDirectoryEntries
        let untracked = full && !entry.holdsCopies
        var txn = HomeTxn(id: id, request: r, grant: .uncached, targets: [], lastSent: now)
        if r.write {
            txn.targets = entry.sharers.filter { $0.node != r.from }.map { RevokeTarget(holder: $0, kind: .inv) }
            if let o = entry.owner, o.node != r.from { txn.targets.append(RevokeTarget(holder: o, kind: .fwdGetM)) }
            txn.grant = untracked ? .uncached : .modified
        } else if now < entry.fenceUntil || untracked {
            txn.grant = .uncached
        } else if let o = entry.owner {
            if o.node == r.from { txn.grant = .exclusive } else {
                txn.grant = .shared
                txn.targets = [RevokeTarget(holder: o, kind: .fwdGetS)]
                txn.priorOwner = o
            }
        } else {
            txn.grant = entry.sharers.isEmpty && settings.grantExclusive ? .exclusive : .shared
        }
        entry.txn = txn
        sendRevocations(key, txn, into: &effects)
        if r.write {
            effects.append(.writeThrough(key, value: r.value, version: entry.version &+ 1, txn: id))
        } else {
            sendData(key, &entry, at: now, into: &effects)
        }
    }

    mutating func sendRevocations(_ key: CacheKey, _ txn: HomeTxn, into effects: inout [HomeEffect]) {
        for target in txn.targets {
            let message: CacheMessage
            switch target.kind {
            case .inv: message = .inv(key: key, txn: txn.id, requester: txn.request.from, tag: txn.request.tag)
            case .fwdGetS: message = .fwdGetS(key: key, txn: txn.id, requester: txn.request.from, tag: txn.request.tag)
            case .fwdGetM: message = .fwdGetM(key: key, txn: txn.id, requester: txn.request.from, tag: txn.request.tag)
            }
            send(message, to: target.holder.node, into: &effects)
        }
    }

    mutating func sendData(_ key: CacheKey, _ entry: inout DirectoryEntry, at now: Instant,
                           into effects: inout [HomeEffect]) {
        guard var txn = entry.txn else { return }
        var acks = UInt32(clamping: txn.targets.count)
        if settings.plantedBug && acks > 0 { acks -= 1 }
        let carries = !txn.request.write || (txn.result != nil && txn.grant != .refused)
        send(.data(key: key, tag: txn.request.tag, txn: txn.id, grant: txn.grant, ackCount: acks,
                   version: entry.version, carriesValue: carries, value: carries ? entry.value : nil),
             to: txn.request.from, into: &effects)
        if txn.dataSentAt == nil { txn.dataSentAt = now }
        entry.txn = txn
    }

    mutating func sendDataIfUnfenced(_ key: CacheKey, _ entry: inout DirectoryEntry, at now: Instant,
                                     into effects: inout [HomeEffect]) {
        guard let txn = entry.txn, txn.writeDone, txn.dataSentAt == nil, now >= entry.fenceUntil else { return }
        sendData(key, &entry, at: now, into: &effects)
    }

    /// Sends again what the transaction waits on; a revoked holder whose lease bound has
    /// passed is acked for by the home (its copy can no longer be read).
    mutating func retransmit(_ key: CacheKey, _ entry: inout DirectoryEntry, at now: Instant,
                             into effects: inout [HomeEffect]) {
        let unsent = entry.txn?.dataSentAt == nil
        sendDataIfUnfenced(key, &entry, at: now, into: &effects)
        let justSent = unsent && entry.txn?.dataSentAt != nil
        guard var txn = entry.txn, now >= txn.lastSent + settings.retransmitAfter else { return }
        txn.lastSent = now
        entry.txn = txn
        metrics.retransmissions &+= 1
        let expired = txn.targets.filter { now >= $0.holder.leaseEnd }
        for target in expired {
            send(.invAck(key: key, tag: txn.request.tag, acker: target.holder.node), to: txn.request.from,
                 into: &effects)
        }
        var live = txn
        live.targets = txn.targets.filter { now < $0.holder.leaseEnd }
        sendRevocations(key, live, into: &effects)
        if txn.dataSentAt != nil && !justSent { sendData(key, &entry, at: now, into: &effects) }
    }

    /// The requester has its data and acks: record the copies the transaction made.
    mutating func finishTxn(_ entry: inout DirectoryEntry, at now: Instant) {
        guard let txn = entry.txn else { return }
        entry.txn = nil
        let r = txn.request
        if requesters[r.from]?.incarnation == r.tag.incarnation { requesters[r.from]?.finish(r.tag.sequence) }
        let me = Holder(node: r.from, grant: txn.id, leaseEnd: (txn.dataSentAt ?? now) + settings.homeLeaseBound)
        switch txn.grant {
        case .shared:
            if let prior = txn.priorOwner, entry.owner?.node == prior.node {
                entry.owner = nil
                entry.ownerWrote = false
                entry.addSharer(Holder(node: prior.node, grant: txn.id, leaseEnd: prior.leaseEnd))
            }
            entry.addSharer(me)
        case .exclusive:
            if entry.owner?.node != r.from { entry.ownerWrote = false }
            entry.sharers = []
            entry.owner = me
        case .modified:
            entry.sharers = []
            entry.owner = me
            entry.ownerWrote = true
        case .uncached, .refused:
            if r.write {
                entry.sharers = []
                entry.owner = nil
                entry.ownerWrote = false
            }
        }
    }

    /// Ends the transaction without the requester: whatever it revoked or granted may still
    /// be read until its lease bound, so those bounds join the fence.
    mutating func abort(_ entry: inout DirectoryEntry, finished: Bool, at now: Instant) {
        guard let txn = entry.txn else { return }
        entry.txn = nil
        let r = txn.request
        if finished, requesters[r.from]?.incarnation == r.tag.incarnation { requesters[r.from]?.finish(r.tag.sequence) }
        if let sent = txn.dataSentAt { entry.fence(sent + settings.homeLeaseBound) }
        entry.drop(r.from)
        if r.write {
            for target in txn.targets { entry.drop(target.holder.node) }
            // The new value is durable but the revoked holders may not have dropped the old.
            if txn.writeDone { entry.staleUntil = max(entry.staleUntil, entry.fenceUntil) }
        }
    }

    mutating func store(_ key: CacheKey, _ entry: DirectoryEntry, at now: Instant) {
        if entry.loaded && entry.state == .I && entry.queue.isEmpty && now >= entry.fenceUntil {
            entries[key] = nil
            attention.remove(key)
        } else {
            entries[key] = entry
            if entry.txn != nil || !entry.queue.isEmpty || now < entry.fenceUntil { attention.insert(key) } else {
                attention.remove(key)
            }
        }
        metrics.directoryEntries = entries.count
    }
}
