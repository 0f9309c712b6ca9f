import ChorusBase
import ChorusQueue

// A redrive of a queue that names a dead-letter queue: after its partitions returned the
// dead letters they still hold, the node that took the request moves the queue's own dead
// letters back from the dead-letter queue, in rounds of one lease-publish-ack each:
//
//   fetch from the dead-letter queue (a lease; nothing is removed)
//   → publish the messages that came from this queue back into it, each under a producer id
//     that names the delivery it was leased by (a retried round is deduplicated)
//   → ack them in the dead-letter queue once they are stored; return (nack) the others.
//
// A crash between the publish and the ack leaves a message in both queues until its lease in
// the dead-letter queue runs out: at-least-once, never lost. Messages of other queues sharing
// the dead-letter queue are returned at once, but their delivery count there grows.
extension Node {
    /// The consumer name a redrive leases dead letters under.
    static let redriveConsumer = try! ConsumerID("chorus-redrive")
    /// Messages per round, rounds per redrive (a dead-letter queue that keeps returning
    /// other queues' messages cannot hold a redrive for ever), and the lease of one round.
    static let redriveBatch = 100
    static let redriveRounds = 64
    static let redriveLeaseMillis: UInt64 = 30_000

    func startRedriveBack(_ routed: Routed, queue: QueueName, from deadLetterQueue: QueueName, maxMessages: Int, alreadyMoved: Int) {
        let id = queueDuties.id()
        queueDuties.redrives[id] = RedriveJob(routed: routed, queue: queue, deadLetterQueue: deadLetterQueue,
                                              remaining: maxMessages, moved: alreadyMoved)
        redriveRound(id)
    }

    func redriveRound(_ id: UInt64) {
        guard var job = queueDuties.redrives[id] else { return }
        guard job.remaining > 0, job.rounds < Node.redriveRounds else { finishRedrive(id); return }
        job.rounds += 1
        queueDuties.redrives[id] = job
        startQueueRequest(Routed(request: .queueFetch(job.deadLetterQueue, consumer: Node.redriveConsumer,
                                                      maxMessages: min(job.remaining, Node.redriveBatch), maxBytes: 0,
                                                      visibilityMillis: Node.redriveLeaseMillis, waitMillis: 0),
                                 replyTo: .redrive(id, .fetched), deadline: job.routed.deadline))
    }

    /// An answer to one step of redrive `id`.
    func redriveStepAnswered(_ id: UInt64, _ step: RedriveStep, _ answer: ClientReply) {
        guard let job = queueDuties.redrives[id] else { return }
        switch (step, answer) {
        case let (.fetched, .queueDelivered(list)):
            let mine = list.filter { $0.delivery.origin?.partition.queue == job.queue }
            let others = list.filter { $0.delivery.origin?.partition.queue != job.queue }
            if !others.isEmpty { settleInDeadLetterQueue(id, job, others.map(\.receipt), .nack(delayMillis: 0, deadLetter: false), .returned) }
            guard !mine.isEmpty else { finishRedrive(id); return }
            let messages = mine.map { d in
                OutgoingMessage(body: d.delivery.body, key: d.delivery.key,
                                producerID: d.delivery.redriveID(from: PartitionID(queue: job.deadLetterQueue, index: d.partition)))
            }
            startQueueRequest(Routed(request: .queuePublish(job.queue, messages), replyTo: .redrive(id, .published(mine.map(\.receipt))),
                                     deadline: job.routed.deadline))
        case let (.published(receipts), .queuePublished(outcomes)) where outcomes.count == receipts.count:
            var stored: [QueueReceipt] = [], refused: [QueueReceipt] = []
            for (receipt, outcome) in zip(receipts, outcomes) {
                switch outcome {
                case .stored, .duplicate: stored.append(receipt)
                case .refused: refused.append(receipt)
                }
            }
            if !refused.isEmpty {
                // The queue is full: stop after this round, and hand the rest back.
                queueDuties.redrives[id]?.remaining = 0
                settleInDeadLetterQueue(id, job, refused, .nack(delayMillis: 0, deadLetter: false), .returned)
            }
            if stored.isEmpty { finishRedrive(id); return }
            settleInDeadLetterQueue(id, job, stored, .ack, .acked(stored.count))
        case let (.acked(n), .queueSettled):
            queueDuties.redrives[id]?.moved += n
            queueDuties.redrives[id]?.remaining -= n
            redriveRound(id)
        case (.returned, _):
            break
        case (.fetched, _), (.published, _), (.acked, _):
            // A step failed or its outcome is unknown: what moved so far stays moved, and a
            // message leased but not acked returns to the dead-letter queue when its lease ends.
            if job.moved == 0, case .failure = answer { queueDuties.redrives[id] = nil; reply(job.routed.replyTo, answer); return }
            finishRedrive(id)
        }
    }

    func settleInDeadLetterQueue(_ id: UInt64, _ job: RedriveJob, _ receipts: [QueueReceipt], _ settlement: QueueSettlement, _ step: RedriveStep) {
        startQueueRequest(Routed(request: .queueSettle(job.deadLetterQueue, receipts, settlement), replyTo: .redrive(id, step),
                                 deadline: job.routed.deadline))
    }

    func finishRedrive(_ id: UInt64) {
        guard let job = queueDuties.redrives.removeValue(forKey: id) else { return }
        reply(job.routed.replyTo, .queueCount(job.moved))
    }
}

/// A redrive moving a queue's dead letters back from its dead-letter queue. Invariant: its
/// client is answered once, when `remaining` reaches 0, a round moves nothing, a step fails,
/// or the rounds run out; `moved` counts only messages stored back in `queue` and acked in
/// `deadLetterQueue`.
struct RedriveJob: Sendable {
    var routed: Routed
    let queue: QueueName
    let deadLetterQueue: QueueName
    var remaining: Int
    var moved: Int
    var rounds = 0
}

/// Which step of a redrive an answer belongs to.
enum RedriveStep: Hashable, Sendable {
    case fetched
    /// The publish back into the queue of the messages leased under these receipts.
    case published([QueueReceipt])
    case acked(Int)
    /// Messages handed back to the dead-letter queue: nothing waits for the answer.
    case returned
}
