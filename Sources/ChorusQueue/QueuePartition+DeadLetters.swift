/// Redrive, the drop that follows a move to a dead-letter queue, and purge.
extension QueuePartition {
    mutating func redrive(maxMessages: Int) -> QueueReply {
        guard maxMessages >= 1 else { return .invalid("redrive of \(maxMessages) messages; at least 1 needed") }
        let chosen = deadLetterOffsets.prefix(maxMessages)
        for offset in chosen {
            guard var record = records[offset] else { continue }
            // A fresh allowance: the delivery count itself keeps growing.
            record.allowanceBase = record.deliveries
            records[offset] = record
            move(offset, to: .ready)
        }
        counters.redriven &+= UInt64(chosen.count)
        return .count(chosen.count)
    }

    mutating func dropDeadLetter(_ offset: UInt64) -> Bool {
        guard records[offset]?.isDead == true else { return false }
        remove(offset)
        counters.droppedDeadLetters &+= 1
        return true
    }

    mutating func purge(_ scope: PurgeScope) -> Int {
        let doomed = records.values.filter { record in
            switch scope {
            case .live: return !record.isDead
            case .deadLetters: return record.isDead
            case .all: return true
            }
        }.map(\.offset).sorted()
        for offset in doomed { remove(offset) }
        counters.purged &+= UInt64(doomed.count)
        return doomed.count
    }
}
