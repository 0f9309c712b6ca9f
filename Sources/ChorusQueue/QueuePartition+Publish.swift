/// Publishing. A batch is one log entry (group commit); each message is answered on its
/// own, in batch order, so a full partition stores a prefix of a batch and refuses the rest.
///
/// Order of the checks: size (a body over `maxMessageBytes` can never have been stored),
/// then deduplication (a retry of a stored message is acknowledged even when the
/// partition has since filled up), then the length and byte limits.
extension QueuePartition {
    mutating func publish(_ message: OutgoingMessage) -> PublishOutcome {
        guard message.body.count <= settings.maxMessageBytes else { return refuse(.tooLarge) }
        if let id = message.producerID, let first = dedup[id] {
            counters.duplicates &+= 1
            return .duplicate(offset: first)
        }
        guard records.count < settings.partitionMaxLength else { return refuse(.queueFull) }
        guard storedBytes + message.body.count <= settings.partitionMaxBytes else { return refuse(.bytesFull) }
        let offset = nextOffset
        nextOffset += 1
        insert(MessageRecord(offset: offset, message: message, publishedAtMillis: clockMillis), body: message.body, origin: message.origin)
        if let id = message.producerID, settings.dedupWindowMillis > 0 {
            dedup.record(id, offset: offset, atMillis: clockMillis)
        }
        counters.published &+= 1
        return .stored(offset: offset)
    }

    private mutating func refuse(_ why: PublishRefusal) -> PublishOutcome {
        counters.refused &+= 1
        return .refused(why)
    }
}
