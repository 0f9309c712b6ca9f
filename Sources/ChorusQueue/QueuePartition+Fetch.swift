import ChorusBase
/// Fetching: leases the lowest ready offsets. Each delivery adds one to the message's
/// delivery count in the replicated state, so a new leader knows how often it was delivered.
///
/// FIFO mode: a ready message whose key is held (another message of the key is leased or
/// waiting out a delay) is set aside until the key is released, and the fetch goes on with
/// the next offset; so a key's messages go out one at a time, in offset order.
extension QueuePartition {
    mutating func fetch(consumer: ConsumerID, maxMessages: Int, maxBytes: Int, visibilityMillis: UInt64) -> QueueReply {
        guard maxMessages >= 1, maxMessages <= settings.maxFetchMessages else {
            return .invalid("fetch of \(maxMessages) messages; 1…\(settings.maxFetchMessages) allowed")
        }
        guard visibilityMillis <= settings.maxVisibilityTimeoutMillis else {
            return .invalid("visibility of \(visibilityMillis) ms; at most \(settings.maxVisibilityTimeoutMillis) allowed")
        }
        let lease = visibilityMillis == 0 ? settings.visibilityTimeoutMillis : visibilityMillis
        let deadline = clockMillis + lease
        var out: [Delivery] = []
        var bytes = 0
        while out.count < maxMessages, let top = ready.min {
            guard let record = records[top.offset], record.epoch == top.epoch, record.state == .ready else {
                _ = ready.pop()
                continue
            }
            if settings.fifoPerKey, let key = record.key, keyHolders[key] != nil {
                _ = ready.pop()
                parked[key, default: MinHeap()].push(record.offset)
                continue
            }
            if maxBytes > 0 && !out.isEmpty && bytes + record.bodyBytes > maxBytes { break }
            _ = ready.pop()
            bytes += record.bodyBytes
            out.append(deliver(record.offset, to: consumer, deadlineMillis: deadline))
        }
        return .delivered(out)
    }

    private mutating func deliver(_ offset: UInt64, to consumer: ConsumerID, deadlineMillis: UInt64) -> Delivery {
        guard var record = records[offset] else { preconditionFailure("delivery of a missing message \(offset)") }
        if record.deliveries < .max { record.deliveries += 1 }
        records[offset] = record
        counters.deliveries &+= 1
        if record.deliveries > 1 { counters.redeliveries &+= 1 }
        move(offset, to: .leased(consumer: consumer, deadlineMillis: deadlineMillis))
        guard let body = bodies.body(at: offset) else {
            preconditionFailure("the body store lost the body of live message \(offset)")
        }
        return Delivery(receipt: LeaseReceipt(offset: offset, delivery: record.deliveries), key: record.key,
                        producerID: record.producerID, body: body, publishedAtMillis: record.publishedAtMillis,
                        leaseDeadlineMillis: deadlineMillis, origin: origins[offset])
    }
}
