import ChorusBase
import ChorusQueue
import ChorusRing
import ChorusShards

// The queue service on the node that took the client's request: it looks up the queue's
// settings on the catalogue's shard, splits the request into one part per partition
// (publish by key hash or one rotating choice, settle by receipt, stats and redrive over
// every partition), routes each part to the leader of the shard the ring gives `q/p` — on
// this node or over the peer RPC, like every routed request — and answers the client when
// the last part answered. A long-poll fetch sweeps the partitions (from a rotating start)
// and parks here, not in a thread, between sweeps until its wait ends.
extension Node {

    /// Checks what the front door cannot know: sizes against the queue's own limits are
    /// checked once its settings are known.
    func queueInvalidity(of request: ClientRequest) -> String? {
        switch request {
        case let .queueCreate(_, settings):
            do { try settings.validate(); return nil } catch { return error.message }
        case let .queuePublish(_, messages):
            if messages.isEmpty { return "a publish needs at least one message" }
            return messages.count > QueueService.maxBatchMessages ? "at most \(QueueService.maxBatchMessages) messages per publish" : nil
        case let .queueFetch(_, _, maxMessages, maxBytes, _, wait):
            if maxMessages < 1 || maxMessages > QueueSettings.partitionCeiling * 1_000 { return "max_messages must be 1...1000" }
            if maxBytes < 0 { return "max_bytes must not be negative" }
            return wait > ClientRequest.maxWaitMillis ? "wait_ms must be at most a day" : nil
        case let .queueSettle(_, receipts, _):
            if receipts.isEmpty { return "no receipts" }
            return receipts.count > QueueService.maxBatchMessages ? "at most \(QueueService.maxBatchMessages) receipts" : nil
        case let .queuePartition(info, p, _):
            return Int(p) < info.settings.partitions ? nil : "partition \(p) is outside the queue's \(info.settings.partitions)"
        case let .queueRedrive(_, n):
            return n >= 1 ? nil : "max_messages must be positive"
        case let .queueDeadLetters(_, limit):
            return (1...QueueWire.maxDeadLetters).contains(limit) ? nil : "limit must be 1...\(QueueWire.maxDeadLetters)"
        case .queueDelete, .queueList, .queueInfo, .queueStats:
            return nil
        default:
            return nil
        }
    }

    /// Publish, fetch, settle, stats, redrive: any node starts them.
    func startQueueRequest(_ r: Routed) {
        guard let name = Node.queueName(of: r.request) else { reply(r.replyTo, .fail(.internal, "not a queue request")); return }
        let jobID = queueDuties.id()
        queueDuties.jobs[jobID] = QueueJob(routed: r, started: time.now)
        if let cached = queueDuties.infos[name], time.now - cached.at < QueueDuties.infoLife {
            begin(jobID, info: cached.info)
            return
        }
        let part = queueDuties.id()
        queueDuties.parts[part] = (jobID, -1)
        queueDuties.jobs[jobID]?.pending = 1
        route(Routed(request: .queueInfo(name), replyTo: .local(part), deadline: r.deadline))
    }

    static func queueName(of request: ClientRequest) -> QueueName? {
        switch request {
        case let .queuePublish(q, _), let .queueFetch(q, _, _, _, _, _), let .queueSettle(q, _, _), let .queueStats(q),
             let .queueRedrive(q, _), let .queueDeadLetters(q, _):
            return q
        default:
            return nil
        }
    }

    /// The queue's settings are known: split the request into its parts.
    func begin(_ jobID: UInt64, info: QueueInfo) {
        guard var job = queueDuties.jobs[jobID] else { return }
        job.info = info
        job.phase = .gathering
        let partitions = info.settings.partitions
        switch job.routed.request {
        case let .queuePublish(_, messages):
            if let big = messages.first(where: { $0.body.count > info.settings.maxMessageBytes }) {
                queueDuties.jobs[jobID] = nil
                reply(job.routed.replyTo, .fail(.tooLarge, "a message of \(big.body.count) bytes is over the queue's max_message_bytes \(info.settings.maxMessageBytes)"))
                return
            }
            var rotation = queueDuties.rotations[info.name] ?? PartitionRotation(start: StableHash.hash(Array(name.utf8)))
            let unkeyed = rotation.choose(partitions: partitions)
            queueDuties.rotations[info.name] = rotation
            var byPartition: [UInt16: [Int]] = [:]
            for (i, m) in messages.enumerated() {
                let p = m.key.map { PartitionChoice.partition(forKey: $0, partitions: partitions) }
                    ?? m.producerID.map { PartitionChoice.partition(forProducerID: $0, partitions: partitions) } ?? unkeyed
                byPartition[p, default: []].append(i)
            }
            job.publishOutcomes = Array(repeating: nil, count: messages.count)
            hold(jobID, job)
            for p in byPartition.keys.sorted() {
                let slots = byPartition[p] ?? []
                sendPart(jobID, slots: slots, info: info, partition: p, .command(.publish(slots.map { messages[$0] })))
            }
            release(jobID)
        case let .queueSettle(_, receipts, settlement):
            if let bad = receipts.first(where: { Int($0.partition) >= partitions }) {
                queueDuties.jobs[jobID] = nil
                reply(job.routed.replyTo, .fail(.invalidRequest, "receipt \(bad) names a partition the queue does not have"))
                return
            }
            var byPartition: [UInt16: [Int]] = [:]
            for (i, receipt) in receipts.enumerated() { byPartition[receipt.partition, default: []].append(i) }
            job.settleOutcomes = Array(repeating: nil, count: receipts.count)
            hold(jobID, job)
            for p in byPartition.keys.sorted() {
                let slots = byPartition[p] ?? []
                sendPart(jobID, slots: slots, info: info, partition: p, .command(settlement.command(slots.map { receipts[$0].lease })))
            }
            release(jobID)
        case .queueStats:
            job.stats = Array(repeating: nil, count: partitions)
            hold(jobID, job)
            for p in 0..<partitions { sendPart(jobID, slots: [p], info: info, partition: UInt16(p), .stats) }
            release(jobID)
        case let .queueRedrive(_, n):
            hold(jobID, job)
            for p in 0..<partitions { sendPart(jobID, slots: [p], info: info, partition: UInt16(p), .command(.redrive(maxMessages: n))) }
            release(jobID)
        case let .queueDeadLetters(_, limit):
            hold(jobID, job)
            for p in 0..<partitions { sendPart(jobID, slots: [p], info: info, partition: UInt16(p), .deadLetters(limit: limit)) }
            release(jobID)
        case let .queueFetch(_, _, _, _, _, wait):
            job.waitEnds = time.now + .milliseconds(Int64(min(wait, ClientRequest.maxWaitMillis)))
            queueDuties.jobs[jobID] = job
            sweep(jobID)
        default:
            queueDuties.jobs[jobID] = nil
            reply(job.routed.replyTo, .fail(.internal, "not a queue request"))
        }
    }

    /// Starts a long poll's sweep over the partitions, from a rotating start.
    func sweep(_ jobID: UInt64) {
        guard var job = queueDuties.jobs[jobID], let info = job.info else { return }
        let n = info.settings.partitions
        var rotation = queueDuties.rotations[info.name] ?? PartitionRotation(start: StableHash.hash(Array(name.utf8)))
        let start = Int(rotation.choose(partitions: n))
        queueDuties.rotations[info.name] = rotation
        job.sweep = (0..<n).map { UInt16((start + $0) % n) }
        job.sweepNext = 0
        job.phase = .gathering
        queueDuties.jobs[jobID] = job
        fetchNext(jobID)
    }

    func fetchNext(_ jobID: UInt64) {
        guard var job = queueDuties.jobs[jobID], let info = job.info,
              case let .queueFetch(_, consumer, maxMessages, maxBytes, visibility, _) = job.routed.request else { return }
        guard job.sweepNext < job.sweep.count else {
            // Nothing was ready anywhere: park until the next sweep, or answer empty.
            if let ends = job.waitEnds, time.now + job.pause < ends {
                job.phase = .parked(at: time.now + job.pause)
                job.pause = min(job.pause * 2, QueueDuties.longestPause)
                queueDuties.jobs[jobID] = job
            } else {
                queueDuties.jobs[jobID] = nil
                reply(job.routed.replyTo, .queueDelivered([]))
            }
            return
        }
        let p = job.sweep[job.sweepNext]
        job.sweepNext += 1
        queueDuties.jobs[jobID] = job
        sendPart(jobID, slots: [Int(p)], info: info, partition: p,
                 .fetchIfReady(consumer: consumer, maxMessages: min(maxMessages, info.settings.maxFetchMessages), maxBytes: maxBytes,
                               visibilityMillis: visibility))
    }

    func sendPart(_ jobID: UInt64, slots: [Int], info: QueueInfo, partition: UInt16, _ op: QueueOperation) {
        guard var job = queueDuties.jobs[jobID] else { return }
        let part = queueDuties.id()
        job.positions.append(slots)
        job.pending += 1
        queueDuties.jobs[jobID] = job
        queueDuties.parts[part] = (jobID, job.positions.count - 1)
        route(Routed(request: .queuePartition(info, partition: partition, op), replyTo: .local(part),
                     deadline: max(job.routed.deadline, time.now + settings.forwardAttempt)))
    }

    /// A part's answer came back (from this node or a peer).
    func queuePartAnswered(_ part: UInt64, _ answer: ClientReply) {
        guard let (jobID, slot) = queueDuties.parts.removeValue(forKey: part), var job = queueDuties.jobs[jobID] else { return }
        job.pending -= 1
        if slot < 0 {
            queueDuties.jobs[jobID] = job
            resolved(jobID, answer)
            return
        }
        let slots = job.positions[slot]
        switch answer {
        case let .queuePartitionReply(.published(outcomes)) where outcomes.count == slots.count:
            for (i, o) in zip(slots, outcomes) { job.publishOutcomes[i] = o }
        case let .queuePartitionReply(.settled(outcomes)) where outcomes.count == slots.count:
            for (i, o) in zip(slots, outcomes) { job.settleOutcomes[i] = o }
        case let .queuePartitionReply(.count(n)):
            job.count += n
        case let .queuePartitionStats(s):
            if let p = slots.first, p < job.stats.count { job.stats[p] = s }
        case let .queuePartitionDeadLetters(list):
            if let p = slots.first { job.deadLetters += list.map { QueueDeadLetter(partition: UInt16(p), letter: $0) } }
        case let .queuePartitionReply(.delivered(list)):
            if case .queueFetch = job.routed.request, let p = slots.first {
                if !list.isEmpty {
                    queueDuties.jobs[jobID] = nil
                    queueDuties.fetched &+= UInt64(list.count)
                    reply(job.routed.replyTo, .queueDelivered(list.map { QueueDelivery(partition: UInt16(p), delivery: $0) }))
                    return
                }
                queueDuties.jobs[jobID] = job
                fetchNext(jobID)
                return
            }
        case let .queuePartitionReply(.invalid(why)):
            queueDuties.infos[job.info?.name ?? Node.placeholderName] = nil
            if job.failure == nil { job.failure = .fail(.notFound, why) }
        case .failure:
            if case .queueStats = job.routed.request { break } // a partition that did not answer shows as unknown
            if case .queueDeadLetters = job.routed.request { break } // listed as far as the leaders answered
            if job.failure == nil { job.failure = answer }
            if case .queueFetch = job.routed.request {
                queueDuties.jobs[jobID] = job
                fetchNext(jobID)
                return
            }
        default:
            if job.failure == nil { job.failure = .fail(.internal, "unexpected partition answer") }
        }
        guard job.pending == 0 else { queueDuties.jobs[jobID] = job; return }
        queueDuties.jobs[jobID] = nil
        finishQueueJob(job)
    }

    /// Keeps a job open while its parts are sent: a part served on this node may answer
    /// before the next part is even sent.
    func hold(_ jobID: UInt64, _ job: QueueJob) {
        var job = job
        job.pending += 1
        queueDuties.jobs[jobID] = job
    }

    /// Every part was sent: the job ends here if they all answered already.
    func release(_ jobID: UInt64) {
        guard var job = queueDuties.jobs[jobID] else { return }
        job.pending -= 1
        guard job.pending == 0 else { queueDuties.jobs[jobID] = job; return }
        queueDuties.jobs[jobID] = nil
        finishQueueJob(job)
    }

    static let placeholderName = try! QueueName("_")

    func resolved(_ jobID: UInt64, _ answer: ClientReply) {
        guard let job = queueDuties.jobs[jobID] else { return }
        switch answer {
        case let .queue(info):
            queueDuties.infos[info.name] = (info, time.now)
            begin(jobID, info: info)
        default:
            queueDuties.jobs[jobID] = nil
            reply(job.routed.replyTo, answer)
        }
    }

    func finishQueueJob(_ job: QueueJob) {
        if let failure = job.failure {
            reply(job.routed.replyTo, failure)
            return
        }
        switch job.routed.request {
        case .queuePublish:
            let outcomes = job.publishOutcomes.compactMap { $0 }
            guard outcomes.count == job.publishOutcomes.count else { reply(job.routed.replyTo, .fail(.internal, "a partition did not answer")); return }
            queueDuties.published &+= UInt64(outcomes.count)
            reply(job.routed.replyTo, .queuePublished(outcomes))
        case .queueSettle:
            reply(job.routed.replyTo, .queueSettled(job.settleOutcomes.map { $0 ?? .notFound }))
        case .queueStats:
            guard let info = job.info else { return }
            reply(job.routed.replyTo, .queueStatistics(QueueStatistics(info: info, partitions: job.stats)))
        case .queueDeadLetters:
            reply(job.routed.replyTo, .queueDeadLetters(job.deadLetters.sorted { ($0.partition, $0.letter.origin.offset) < ($1.partition, $1.letter.origin.offset) }))
        case let .queueRedrive(q, n):
            if let dlq = job.info?.settings.deadLetterQueue {
                startRedriveBack(job.routed, queue: q, from: dlq, maxMessages: n, alreadyMoved: job.count)
            } else {
                reply(job.routed.replyTo, .queueCount(job.count))
            }
        default:
            reply(job.routed.replyTo, .fail(.internal, "not a queue request"))
        }
    }

    /// Every tick: parked long polls sweep again or end; partitions this node leads get the
    /// clock entries their leases and delays wait for.
    func performQueueDuties() {
        resweepParkedFetches()
        proposeQueueTicks()
        moveDeadLetters()
    }

    /// Parked long polls whose pause is over sweep again (or end): at every tick, and after
    /// every drive of the shards, so a busy node does not wait for the next tick.
    func resweepParkedFetches() {
        guard !queueDuties.jobs.isEmpty else { return }
        for jobID in queueDuties.jobs.keys.sorted() {
            guard let job = queueDuties.jobs[jobID], case let .parked(at) = job.phase, at <= time.now else { continue }
            if let ends = job.waitEnds, ends <= time.now {
                queueDuties.jobs[jobID] = nil
                reply(job.routed.replyTo, .queueDelivered([]))
            } else {
                sweep(jobID)
            }
        }
    }
}

/// Limits of the queue service at the node.
public enum QueueService {
    /// Messages (or receipts) in one request.
    public static let maxBatchMessages = 1_000
}
