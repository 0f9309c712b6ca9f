import ChorusBase
/// The only code that changes a message's state or removes a message: it keeps the tally,
/// the heaps, the dead-letter list, the FIFO key holders and the offset floor in step with
/// `records`, so the rules files never touch those indices themselves.
extension QueuePartition {
    /// Moves the message at `offset` (which exists) to `next`.
    mutating func move(_ offset: UInt64, to next: MessageState) {
        guard var record = records[offset] else { preconditionFailure("move of a missing message \(offset)") }
        let previous = record.state
        let wasHolding = record.holdsKey, wasDead = record.isDead
        record.enter(next)
        records[offset] = record
        tally.add(previous, -1)
        tally.add(next, 1)
        if wasDead { removeDeadLetterOffset(offset) }
        track(record)
        guard settings.fifoPerKey, let key = record.key else { return }
        if record.holdsKey && !wasHolding { keyHolders[key] = offset }
        if wasHolding && !record.holdsKey { releaseKey(key) }
    }

    /// Adds a message (a new one, ready; or one from a snapshot, in any state) with every
    /// index in step. A nil `body` means the body store holds it already.
    mutating func insert(_ record: MessageRecord, body: [UInt8]?, origin: DeadLetterOrigin?) {
        records[record.offset] = record
        if let origin { origins[record.offset] = origin }
        if let body { bodies.put(body, at: record.offset) }
        storedBytes += record.bodyBytes
        tally.add(record.state, 1)
        track(record)
        if settings.fifoPerKey, record.holdsKey, let key = record.key { keyHolders[key] = record.offset }
    }

    /// Enters the record's current state into the heap or list that state is found by.
    private mutating func track(_ record: MessageRecord) {
        switch record.state {
        case .ready: ready.push(ReadyEntry(offset: record.offset, epoch: record.epoch))
        case let .delayed(until): timers.push(TimerEntry(atMillis: until, offset: record.offset, epoch: record.epoch))
        case let .leased(_, deadline): timers.push(TimerEntry(atMillis: deadline, offset: record.offset, epoch: record.epoch))
        case .dead: insertDeadLetterOffset(record.offset)
        }
    }

    /// Deletes the message at `offset` (which exists) and its body.
    mutating func remove(_ offset: UInt64) {
        guard let record = records.removeValue(forKey: offset) else { preconditionFailure("removal of a missing message \(offset)") }
        bodies.remove(offset)
        origins[offset] = nil
        storedBytes -= record.bodyBytes
        tally.add(record.state, -1)
        if record.isDead { removeDeadLetterOffset(offset) }
        if settings.fifoPerKey, let key = record.key {
            // A removed holder frees its key; a removed ready message may have been the
            // key's candidate, so the next parked one takes its place.
            if record.holdsKey { releaseKey(key) } else if record.state == .ready && keyHolders[key] == nil { unparkNext(key) }
        }
        if offset == floorOffset {
            while floorOffset < nextOffset && records[floorOffset] == nil { floorOffset += 1 }
        }
    }

    /// Whether a heap entry still describes its message.
    func isCurrent(_ offset: UInt64, epoch: UInt32) -> Bool { records[offset]?.epoch == epoch }

    private mutating func releaseKey(_ key: MessageKey) {
        keyHolders[key] = nil
        unparkNext(key)
    }

    /// Returns the key's lowest parked ready message to the ready heap.
    private mutating func unparkNext(_ key: MessageKey) {
        guard var waiting = parked.removeValue(forKey: key) else { return }
        while let offset = waiting.pop() {
            guard let r = records[offset], r.state == .ready else { continue }
            ready.push(ReadyEntry(offset: offset, epoch: r.epoch))
            break
        }
        if !waiting.isEmpty { parked[key] = waiting }
    }

    private mutating func insertDeadLetterOffset(_ offset: UInt64) {
        if let last = deadLetterOffsets.last, last > offset {
            deadLetterOffsets.insert(offset, at: deadLetterPosition(offset))
        } else {
            deadLetterOffsets.append(offset)
        }
    }

    private mutating func removeDeadLetterOffset(_ offset: UInt64) {
        let i = deadLetterPosition(offset)
        if i < deadLetterOffsets.count && deadLetterOffsets[i] == offset { deadLetterOffsets.remove(at: i) }
    }

    /// The first position in `deadLetterOffsets` whose offset is not below `offset`.
    private func deadLetterPosition(_ offset: UInt64) -> Int {
        var lo = 0, hi = deadLetterOffsets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if deadLetterOffsets[mid] < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Drops stale heap entries once they outnumber the live ones, so repeated extends or
    /// nacks cannot grow the heaps without bound.
    mutating func compactHeaps() {
        if ready.count > 1_024 && ready.count > 2 * tally.ready {
            let live = ready.items.filter { isCurrent($0.offset, epoch: $0.epoch) && records[$0.offset]?.state == .ready }
            ready.rebuild(live)
        }
        let timed = tally.delayed + tally.leased
        if timers.count > 1_024 && timers.count > 2 * timed {
            timers.rebuild(timers.items.filter { isCurrent($0.offset, epoch: $0.epoch) })
        }
    }
}
