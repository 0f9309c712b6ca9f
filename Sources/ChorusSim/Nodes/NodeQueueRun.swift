import ChorusBase
import ChorusNode
import ChorusQueue

/// A whole-node queue run: real `Node`s in a `NodeCluster`, producers that publish batches of
/// uniquely named messages (each with its producer id) to random nodes and retry with the same
/// ids until acknowledged, consumers that long-poll random nodes and ack, nack or forget each
/// delivery; nodes that crash and restart from what they persisted, get isolated, lose,
/// duplicate and reorder frames. Then the faults stop and the consumers drain the queue.
///
/// The checker (`NodeQueueHistory`): every acknowledged publish is delivered and acked by the
/// end; a message acked by a consumer never comes back; no two deliveries of a message carry
/// the same delivery count (the count only grows); duplicates are counted, not failed.
public final class NodeQueueRun {
    public let settings: NodeQueueSettings
    let cluster: NodeCluster
    var history = NodeQueueHistory()
    var report = NodeQueueReport()
    var tickets: [ClientTicket: Kind] = [:]
    var producers: [Producer] = []
    var consumerWakes: [UInt64] = []
    var faultsOn = true
    var crashed: Int?
    var published = 0
    let queue: QueueName
    let start: Instant

    enum Kind {
        case publish(producer: Int, attempt: Int)
        case fetch(consumer: Int, wake: UInt64)
        case ack(consumer: Int, ids: [String], receipts: [QueueReceipt])
        case settle
        case stats
    }

    struct Producer {
        var pending: [String] = []
        /// The keys of `pending`, kept for every retry (a retry must reach the same partition).
        var keys: [MessageKey?] = []
        var attempt = 0
    }

    static let producerTag: UInt64 = 1 << 32, consumerTag: UInt64 = 2 << 32, faultTag: UInt64 = 3 << 32, healTag: UInt64 = 4 << 32
    static let retryTag: UInt64 = 5 << 32, statsTag: UInt64 = 6 << 32
    /// Drain phase: the last statistics showed every partition answering and empty.
    var drained = false

    public init(settings: NodeQueueSettings, node: NodeSettings? = nil) throws {
        try settings.validate()
        self.settings = settings
        var nodeSettings = node ?? NodeCluster.settings(shards: settings.shards)
        nodeSettings.placement.shardCount = settings.shards
        cluster = try NodeCluster(nodes: settings.nodes, settings: nodeSettings, seed: settings.seed)
        queue = try QueueName("q")
        start = cluster.now
        report.seed = settings.seed
    }

    public func run() throws -> NodeQueueReport {
        guard cluster.settle() else { report.violations.append("the cluster did not settle"); return report }
        var qs = QueueSettings()
        qs.partitions = settings.partitions
        qs.visibilityTimeoutMillis = settings.visibilityMillis
        qs.maxDeliveries = 1_000
        qs.redeliveryBackoffMillis = 50
        qs.maxRedeliveryBackoffMillis = 500
        qs.dedupWindowMillis = 600_000
        var created = false
        for attempt in 0..<20 where !created {
            if case .queueCatalogue? = cluster.ask(.queueCreate(queue, qs), at: attempt % settings.nodes) { created = true }
        }
        guard created else { report.violations.append("the queue could not be created"); return report }
        cluster.faults.loss = settings.loss
        cluster.faults.duplication = settings.duplication
        cluster.faults.reorder = settings.reorder
        cluster.onReply = { [unowned self] ticket, _, reply in self.replied(ticket, reply) }
        cluster.onTimer = { [unowned self] tag in self.timer(tag) }
        producers = Array(repeating: Producer(), count: settings.producers)
        consumerWakes = Array(repeating: 0, count: settings.consumers)
        for p in 0..<settings.producers { cluster.after(.milliseconds(Int64(1 + p)), tag: Self.producerTag | UInt64(p)) }
        for c in 0..<settings.consumers { fetch(c) }
        if settings.faultEverySeconds > 0 { cluster.after(seconds(settings.faultEverySeconds), tag: Self.faultTag) }
        cluster.run(for: seconds(settings.durationSeconds))
        // Drain: no faults, producers stop, every crashed node back.
        faultsOn = false
        cluster.faults = NodeCluster.Faults()
        cluster.heal()
        if let i = crashed { try cluster.restart(i); crashed = nil }
        let drainEnd = cluster.now + seconds(settings.drainSeconds)
        cluster.after(.seconds(1), tag: Self.statsTag)
        // Done when every acknowledged publish was acked — or was delivered and the queue is
        // empty (an ack whose answer was lost applied all the same).
        cluster.run(until: drainEnd) { [unowned self] _ in
            self.producers.allSatisfy { $0.pending.isEmpty }
                && (self.history.allAcknowledgedAcked || (self.drained && self.history.allAcknowledgedSeen))
        }
        if !drained && !history.allAcknowledgedAcked { history.violations.append("the queue was not empty after the drain phase: \(report.lastStats)") }
        report.violations += history.finish()
        report.acknowledgedPublishes = history.acknowledged.count
        report.consumerAcks = history.acked.count
        report.deliveries = history.deliveries
        report.duplicateDeliveries = history.duplicateDeliveries
        report.storedTwice = history.storedTwice
        return report
    }

    func seconds(_ s: Double) -> Interval { .milliseconds(Int64(s * 1_000)) }

    func randomNode() -> Int { Int(cluster.random() % UInt64(settings.nodes)) }

    // MARK: producers

    func publish(_ p: Int) {
        guard faultsOn || !producers[p].pending.isEmpty else { return }
        if producers[p].pending.isEmpty {
            let n = 1 + Int(cluster.random() % UInt64(settings.maxBatch))
            producers[p].pending = (0..<n).map { _ in published += 1; return "p\(p)-\(published)" }
            producers[p].keys = (0..<n).map { _ in cluster.random() % 2 == 0 ? try? MessageKey("k\(cluster.random() % 8)") : nil }
        }
        producers[p].attempt += 1
        let messages = zip(producers[p].pending, producers[p].keys).map { id, key in
            OutgoingMessage(body: Array(id.utf8), key: key, producerID: try? ProducerMessageID(id))
        }
        let t = cluster.reserveTicket()
        tickets[t] = .publish(producer: p, attempt: producers[p].attempt)
        cluster.submit(.queuePublish(queue, messages), to: randomNode(), ticket: t)
        cluster.after(.seconds(3), tag: Self.retryTag | UInt64(p) << 16 | UInt64(producers[p].attempt & 0xFFFF))
    }

    // MARK: consumers

    func fetch(_ c: Int) {
        consumerWakes[c] &+= 1
        let t = cluster.reserveTicket()
        tickets[t] = .fetch(consumer: c, wake: consumerWakes[c])
        cluster.submit(.queueFetch(queue, consumer: (try? ConsumerID("c\(c)"))!, maxMessages: 10, maxBytes: 0, visibilityMillis: 0, waitMillis: 300),
                       to: randomNode(), ticket: t)
        // If the node never answers (it crashed), fetch again.
        cluster.after(.seconds(2), tag: Self.consumerTag | UInt64(c) << 16 | (consumerWakes[c] & 0xFFFF))
    }

    func replied(_ ticket: ClientTicket, _ reply: ClientReply) {
        guard let kind = tickets.removeValue(forKey: ticket) else { return }
        switch kind {
        case let .publish(p, attempt):
            guard case let .queuePublished(outcomes) = reply else { break }
            let ids = producers[p].pending
            guard attempt == producers[p].attempt, outcomes.count == ids.count else { break }
            for (id, o) in zip(ids, outcomes) {
                switch o {
                case let .stored(offset), let .duplicate(offset): history.acknowledge(id, offset: offset)
                case .refused: history.violations.append("publish of \(id) refused")
                }
            }
            producers[p].pending = []
            if faultsOn { cluster.after(.milliseconds(Int64(5 + cluster.random() % 40)), tag: Self.producerTag | UInt64(p)) }
        case let .fetch(c, wake):
            guard case let .queueDelivered(list) = reply else {
                if wake == consumerWakes[c] { cluster.after(.milliseconds(50), tag: Self.consumerTag | UInt64(c) << 16 | 0xFFFF) }
                return
            }
            var acks: [QueueReceipt] = [], ackIDs: [String] = [], nacks: [QueueReceipt] = []
            for d in list {
                let id = String(decoding: d.delivery.body, as: UTF8.self)
                history.delivered(id, partition: d.partition, offset: d.delivery.receipt.offset, delivery: d.delivery.deliveries, at: cluster.now)
                let roll = cluster.unit()
                if roll < settings.forgetProbability { continue }
                if roll < settings.forgetProbability + settings.nackProbability { nacks.append(d.receipt); continue }
                acks.append(d.receipt); ackIDs.append(id)
            }
            if !acks.isEmpty {
                let t = cluster.reserveTicket()
                tickets[t] = .ack(consumer: c, ids: ackIDs, receipts: acks)
                cluster.submit(.queueSettle(queue, acks, .ack), to: randomNode(), ticket: t)
            }
            if !nacks.isEmpty {
                let t = cluster.reserveTicket()
                tickets[t] = .settle
                cluster.submit(.queueSettle(queue, nacks, .nack(delayMillis: 20, deadLetter: false)), to: randomNode(), ticket: t)
            }
            if wake == consumerWakes[c] { fetch(c) }
        case let .ack(_, ids, receipts):
            guard case let .queueSettled(outcomes) = reply, outcomes.count == ids.count else { return }
            for ((id, r), o) in zip(zip(ids, receipts), outcomes) where o == .acked {
                history.consumerAcked(id, partition: r.partition, offset: r.lease.offset, delivery: r.lease.delivery, at: cluster.now)
            }
        case .settle:
            break
        case .stats:
            if case let .queueStatistics(st) = reply, st.partitions.allSatisfy({ $0 != nil }) {
                drained = st.partitions.allSatisfy { ($0?.messages ?? 1) == 0 }
                report.lastStats = st.partitions.map { p in p.map { "r\($0.ready) d\($0.delayed) l\($0.leased) x\($0.deadLetters)" } ?? "?" }.joined(separator: ", ")
            }
        }
    }

    func timer(_ tag: UInt64) {
        let kind = tag & ~UInt64(0xFFFF_FFFF), low = tag & 0xFFFF_FFFF
        switch kind {
        case Self.producerTag:
            publish(Int(low))
        case Self.retryTag:
            let p = Int(low >> 16), attempt = Int(low & 0xFFFF)
            if p < producers.count, (producers[p].attempt & 0xFFFF) == attempt, !producers[p].pending.isEmpty { publish(p) }
        case Self.consumerTag:
            let c = Int(low >> 16), wake = low & 0xFFFF
            if c < consumerWakes.count, wake == 0xFFFF || wake == consumerWakes[c] & 0xFFFF { fetch(c) }
        case Self.faultTag:
            guard faultsOn else { return }
            if cluster.random() % 2 == 0 {
                let victim = randomNode()
                cluster.crash(victim)
                crashed = victim
                report.crashes += 1
            } else {
                cluster.isolate(randomNode())
                report.partitions += 1
            }
            cluster.after(seconds(settings.faultEverySeconds / 2), tag: Self.healTag)
            cluster.after(seconds(settings.faultEverySeconds), tag: Self.faultTag)
        case Self.statsTag:
            let t = cluster.reserveTicket()
            tickets[t] = .stats
            cluster.submit(.queueStats(queue), to: randomNode(), ticket: t)
            cluster.after(.seconds(1), tag: Self.statsTag)
        case Self.healTag:
            cluster.heal()
            if let i = crashed {
                do { try cluster.restart(i) } catch { history.violations.append("restart of n\(i) failed: \(error)") }
                crashed = nil
            }
        default:
            break
        }
    }
}
