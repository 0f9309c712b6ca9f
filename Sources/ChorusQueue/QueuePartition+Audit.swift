/// A full check of the partition's invariants against its indices, for tests and for a
/// driver's debug mode (it walks every message: not for each apply in production).
extension QueuePartition {
    /// Every broken invariant, described; empty when the partition is consistent.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var counted = StateTally(), bytes = 0
        var holders: [MessageKey: UInt64] = [:]
        let limit = UInt32(settings.maxDeliveries)
        for offset in records.keys.sorted() {
            guard let r = records[offset] else { continue }
            counted.add(r.state, 1)
            bytes += r.bodyBytes
            if offset < floorOffset || offset >= nextOffset { problems.append("offset \(offset) outside \(floorOffset)..<\(nextOffset)") }
            if bodies.body(at: offset)?.count != r.bodyBytes { problems.append("body of \(offset) missing or resized") }
            if r.allowanceBase > r.deliveries || r.deliveriesCounted > limit { problems.append("deliveries of \(offset) beyond the limit") }
            switch r.state {
            case .ready, .delayed:
                if r.deliveriesCounted >= limit { problems.append("\(offset) deliverable after its last delivery") }
            case let .leased(_, deadline):
                if deadline <= clockMillis { problems.append("lease of \(offset) ran out unnoticed") }
            case let .dead(reason, _):
                if reason == .maxDeliveries && r.deliveriesCounted != limit { problems.append("\(offset) dead before its last delivery") }
            }
            if case let .delayed(until) = r.state, until <= clockMillis { problems.append("delay of \(offset) ended unnoticed") }
            if settings.fifoPerKey, r.holdsKey, let key = r.key {
                if holders[key] != nil { problems.append("key \(key) held twice") }
                holders[key] = offset
            }
        }
        if counted != tally { problems.append("tally \(tally) but records give \(counted)") }
        if bytes != storedBytes { problems.append("stored bytes \(storedBytes) but records give \(bytes)") }
        if holders != keyHolders { problems.append("key holders out of step") }
        let dead = records.values.filter(\.isDead).map(\.offset).sorted()
        if dead != deadLetterOffsets { problems.append("dead-letter list out of step") }
        if records.count > settings.partitionMaxLength || storedBytes > settings.partitionMaxBytes { problems.append("limits exceeded") }
        if !records.isEmpty && records[floorOffset] == nil { problems.append("floor \(floorOffset) names no message") }
        // A parked message must have a way back: its key is held, or a candidate of the key
        // is on the ready heap.
        let candidates = Set(ready.items.compactMap { e in
            records[e.offset].flatMap { $0.epoch == e.epoch && $0.state == .ready ? $0.key : nil }
        })
        for (key, waiting) in parked where keyHolders[key] == nil && !candidates.contains(key) {
            if waiting.items.contains(where: { records[$0]?.state == .ready }) { problems.append("key \(key) parked with no way back") }
        }
        return problems
    }
}
