import ChorusBase
import ChorusQueue
import ChorusShards

// Moving dead letters out of a partition into its queue's dead-letter queue, on the
// partition's leader: publish a batch of them into the dead-letter queue like any producer
// (each under a producer id derived from where it died, so a retried move is deduplicated
// there), and only once every one of them is stored there, propose `dropDeadLetters` for
// exactly those offsets. A crash or a leader change between the two steps leaves the dead
// letters in place and the next leader moves them again: the dead-letter queue's dedup window
// absorbs the repeat, and no dead letter is ever dropped before its copy is committed.
extension Node {
    /// Dead letters moved per publish.
    static let deadLettersPerMove = 64
    /// How long a move that failed waits before it is tried again.
    static let deadLetterMoveBackoff: Interval = .seconds(1)

    /// For each partition this node leads whose queue names a dead-letter queue and that
    /// holds dead letters: start one move (at most one in flight per partition).
    func moveDeadLetters() {
        for shard in host.ledShards {
            guard let queues = host.machine(of: shard)?.queues, !queues.partitions.isEmpty else { continue }
            for id in queues.partitions.keys.sorted() where !queueDuties.moving.contains(id) {
                guard let p = queues.partitions[id], let target = p.settings.deadLetterQueue, p.stats.deadLetters > 0 else { continue }
                if let retry = queueDuties.moveRetry[id], time.now < retry { continue }
                let letters = p.deadLetters(limit: Node.deadLettersPerMove)
                guard !letters.isEmpty else { continue }
                queueDuties.moving.insert(id)
                startQueueRequest(Routed(request: .queuePublish(target, letters.map(\.transfer)),
                                         replyTo: .deadLetterMove(id, offsets: letters.map(\.origin.offset)),
                                         deadline: time.now + settings.forwardAttempt))
            }
        }
    }

    /// The dead-letter queue answered the move's publish: drop what it stored, if this node
    /// still leads the partition; otherwise leave them for the next try.
    func deadLettersPublished(_ id: PartitionID, offsets: [UInt64], _ answer: ClientReply) {
        guard case let .queuePublished(outcomes) = answer, outcomes.count == offsets.count else {
            log(.warn, "dead letters not moved", ["partition": id.placementKey, "answer": "\(answer)"])
            deadLetterMoveEnded(id, moved: false)
            return
        }
        let stored = zip(offsets, outcomes).compactMap { offset, outcome -> UInt64? in
            switch outcome {
            case .stored, .duplicate: return offset
            case .refused: return nil
            }
        }
        let shard = shard(forKey: id.placementKey)
        guard !stored.isEmpty, host.isLeader(of: shard),
              let p = host.machine(of: shard)?.queues.partitions[id] else {
            deadLetterMoveEnded(id, moved: false)
            return
        }
        let info = QueueInfo(name: id.queue, settings: p.settings, incarnation: p.incarnation, createdAtMillis: 0)
        let complete = stored.count == offsets.count
        if !complete {
            log(.warn, "dead-letter queue refused some dead letters", ["partition": id.placementKey, "refused": "\(offsets.count - stored.count)"])
        }
        proposePartition(id, info: info, .dropDeadLetters(stored), shard: shard, for: .deadLetterDrop(id, complete: complete))
    }

    /// A move ended: the next one may start now (`moved`: every dead letter of the batch was
    /// stored and dropped) or after the backoff (a refusal, a lost leadership, a full queue).
    func deadLetterMoveEnded(_ id: PartitionID, moved: Bool) {
        queueDuties.moving.remove(id)
        queueDuties.moveRetry[id] = moved ? nil : time.now + Node.deadLetterMoveBackoff
    }
}
