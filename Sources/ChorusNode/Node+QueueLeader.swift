import ChorusBase
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusShards

// The queue service on the leaders: the catalogue's shard serves create/delete (proposals)
// and list/info (ReadIndex reads); a partition's shard serves its part of each request.
// Publishes are group-committed: up to `QueueDuties.publishesInFlight` publish entries per
// partition in flight from this leader, and everything that arrives meanwhile goes into the
// next entry; each request is answered
// with its own messages' outcomes once that entry is applied (after the commit on a quorum
// and the fsyncs that Raft's persistence order puts before it). The leader also proposes the
// partition's clock entries, so leases run out and delays end.
extension Node {

    func serveQueue(_ r: Routed, shard: ShardID) {
        switch r.request {
        case let .queueCreate(name, settings):
            propose(shard, requestID: Array(newRequestID().utf8),
                    .queue(.catalogue(CatalogueEntry(nowMillis: time.wallMillis, command: .create(name, settings)))), for: .serve(r, shard: shard))
        case let .queueDelete(name):
            propose(shard, requestID: Array(newRequestID().utf8),
                    .queue(.catalogue(CatalogueEntry(nowMillis: time.wallMillis, command: .delete(name)))), for: .serve(r, shard: shard))
        case .queueList, .queueInfo:
            read(shard, for: .serve(r, shard: shard))
        case let .queuePartition(info, p, op):
            servePartition(r, shard: shard, id: PartitionID(queue: info.name, index: p), info: info, op)
        default:
            reply(r.replyTo, .fail(.internal, "not a queue request"))
        }
    }

    func servePartition(_ r: Routed, shard: ShardID, id: PartitionID, info: QueueInfo, _ op: QueueOperation) {
        let partition = host.machine(of: shard)?.queues.partitions[id]
        switch op {
        case let .command(.publish(messages)):
            if settings.plantedBugs.queueAckBeforeCommit {
                // Planted for the whole-node checker: answer before the entry commits.
                reply(r.replyTo, .queuePartitionReply(.published(messages.map { _ in .stored(offset: 0) })))
                queueDuties.waiting[id, default: []].append(QueuePublishPart(routed: Routed(request: r.request, replyTo: .local(0), deadline: r.deadline), messages: messages))
            } else {
                queueDuties.waiting[id, default: []].append(QueuePublishPart(routed: r, messages: messages))
            }
            if queueDuties.inFlight[id, default: 0] < QueueDuties.publishesInFlight { flushPublishes(id, shard: shard, info: info) }
        case let .command(command):
            proposePartition(id, info: info, command, shard: shard, for: .serve(r, shard: shard))
        case let .fetchIfReady(consumer, maxMessages, maxBytes, visibility):
            guard partition?.hasReadyMessages == true else {
                reply(r.replyTo, .queuePartitionReply(.delivered([])))
                return
            }
            proposePartition(id, info: info, .fetch(consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes, visibilityMillis: visibility),
                             shard: shard, for: .serve(r, shard: shard))
        case .stats:
            guard let partition, partition.incarnation == info.incarnation else {
                reply(r.replyTo, .queuePartitionStats(PartitionStats.empty))
                return
            }
            reply(r.replyTo, .queuePartitionStats(partition.stats))
        case let .deadLetters(limit):
            guard let partition, partition.incarnation == info.incarnation else {
                reply(r.replyTo, .queuePartitionDeadLetters([]))
                return
            }
            reply(r.replyTo, .queuePartitionDeadLetters(partition.deadLetters(limit: limit)))
        case .drop:
            propose(shard, requestID: Array(newRequestID().utf8), .queue(.dropPartition(id, incarnation: info.incarnation)),
                    for: .serve(r, shard: shard))
        }
    }

    func proposePartition(_ id: PartitionID, info: QueueInfo, _ command: QueueCommand, shard: ShardID, for wait: HostWait) {
        let entry = QueueEntry(nowMillis: time.wallMillis, command: command)
        propose(shard, requestID: Array(newRequestID().utf8),
                .queue(.partition(id, incarnation: info.incarnation, settings: info.settings, entry: entry)), for: wait)
    }

    /// Proposes one entry with every publish waiting for `id` (group commit).
    func flushPublishes(_ id: PartitionID, shard: ShardID, info: QueueInfo) {
        guard let parts = queueDuties.waiting.removeValue(forKey: id), !parts.isEmpty else { return }
        queueDuties.inFlight[id, default: 0] += 1
        proposePartition(id, info: info, .publish(parts.flatMap(\.messages)), shard: shard,
                         for: .queueBatch(QueueBatch(partition: id, shard: shard, parts: parts)))
    }

    /// A group commit settled: `answer` is the applied reply, nil when the outcome is unknown
    /// (leadership moved: every part is routed again, same producer ids).
    func queueBatchEnded(_ batch: QueueBatch, answer: [UInt8]?) {
        let left = queueDuties.inFlight[batch.partition, default: 1] - 1
        queueDuties.inFlight[batch.partition] = left > 0 ? left : nil
        if let answer, case let .published(outcomes)? = try? QueueCodec.decodeReply(answer),
           outcomes.count == batch.parts.reduce(0, { $0 + $1.messages.count }) {
            var rest = outcomes[...]
            for part in batch.parts {
                let mine = Array(rest.prefix(part.messages.count))
                rest = rest.dropFirst(part.messages.count)
                if case .local(0) = part.routed.replyTo { continue }
                reply(part.routed.replyTo, .queuePartitionReply(.published(mine)))
            }
        } else if let answer, case let .invalid(why)? = try? QueueCodec.decodeReply(answer) {
            for part in batch.parts { reply(part.routed.replyTo, .queuePartitionReply(.invalid(why))) }
        } else {
            for part in batch.parts {
                if case .local(0) = part.routed.replyTo { continue }
                reroute(part.routed, shard: batch.shard)
            }
        }
        if let next = queueDuties.waiting[batch.partition], let first = next.first,
           case let .queuePartition(info, _, _) = first.routed.request {
            if host.isLeader(of: batch.shard) {
                flushPublishes(batch.partition, shard: batch.shard, info: info)
            } else {
                queueDuties.waiting[batch.partition] = nil
                for part in next { reroute(part.routed, shard: batch.shard) }
            }
        }
    }

    /// Clock entries for the partitions this node leads whose next lease or delay deadline
    /// has passed on the leader's clock (one in flight per partition).
    func proposeQueueTicks() {
        var soonest: UInt64?
        defer {
            // On the monotonic clock, for `nextTick`: the wall clock's distance from now
            // (beyond a minute it only needs to be later than the quiet tick).
            queueDeadline = soonest.map { time.now + .milliseconds(Int64(min($0 &- min($0, time.wallMillis), 60_000))) }
        }
        for shard in host.ledShards {
            guard let queues = host.machine(of: shard)?.queues, !queues.partitions.isEmpty else { continue }
            for id in queues.partitions.keys.sorted() where !queueDuties.ticking.contains(id) {
                guard let p = queues.partitions[id], let due = p.nextDeadlineMillis else { continue }
                guard due <= time.wallMillis else {
                    soonest = min(soonest ?? due, due)
                    continue
                }
                queueDuties.ticking.insert(id)
                let info = QueueInfo(name: id.queue, settings: p.settings, incarnation: p.incarnation, createdAtMillis: 0)
                proposePartition(id, info: info, .tick, shard: shard, for: .queueTick(id))
            }
        }
    }

    /// Answers a queue proposal served here; false when `r` is not one.
    func answerQueueApplied(_ r: Routed, _ bytes: [UInt8]) -> Bool {
        switch r.request {
        case .queueCreate, .queueDelete:
            guard let answer = try? QueueCodec.decodeCatalogueReply(bytes) else {
                reply(r.replyTo, .fail(.internal, "unreadable catalogue reply")); return true
            }
            switch answer {
            case let .deleted(info):
                queueDuties.infos[info.name] = nil
                dropPartitions(of: info)
            case let .created(info), let .exists(info): queueDuties.infos[info.name] = nil
            default: break
            }
            reply(r.replyTo, .queueCatalogue(answer))
            return true
        case .queuePartition:
            guard let answer = try? QueueCodec.decodeReply(bytes) else {
                reply(r.replyTo, .fail(.internal, "unreadable partition reply")); return true
            }
            reply(r.replyTo, .queuePartitionReply(answer))
            return true
        default:
            return false
        }
    }

    /// After a queue's deletion: each of its partitions' leaders drops the partition's state
    /// (messages, dedup ids, bodies), so a deleted queue keeps no memory. Routed like any
    /// part, again after a leader change, until the routing deadline; a partition missed then
    /// is dropped when a queue of that name is created again (a newer incarnation replaces it).
    func dropPartitions(of info: QueueInfo) {
        for p in 0..<info.settings.partitions {
            route(Routed(request: .queuePartition(info, partition: UInt16(p), .drop), replyTo: .nobody,
                         deadline: time.now + settings.forwardAttempt * 10))
        }
    }

    func answerQueueRead(_ r: Routed, shard: ShardID) {
        guard let catalogue = host.machine(of: shard)?.queues.catalogue else { reroute(r, shard: shard); return }
        switch r.request {
        case .queueList:
            reply(r.replyTo, .queues(catalogue.list()))
        case let .queueInfo(name):
            if let info = catalogue.info(name) { reply(r.replyTo, .queue(info)) } else { reply(r.replyTo, .fail(.notFound, "no queue \(name)")) }
        default:
            reply(r.replyTo, .fail(.internal, "not a queue read"))
        }
    }
}
