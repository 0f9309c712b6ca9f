import ChorusBase
import Testing
@testable import ChorusQueue

/// Random command sequences applied to three replicas of one partition, the way Raft would
/// apply them: the same encoded entries in the same order, stamped by leaders whose clocks
/// sometimes lag. One replica is now and then replaced by a copy restored from its own
/// snapshot (a leader change or a new replica catching up). After every entry the replicas
/// must agree, and the run checks the queue's promises against what consumers were told.
struct ReplicaRun {
    var rng: SeededRandom
    var gen: ValueGenerator
    var replicas: [MemoryPartition]
    var index: UInt64 = 0
    var now: UInt64 = 5_000_000
    let settings: QueueSettings

    // What the clients saw.
    var leases: [LeaseReceipt] = []
    var leaseDeadline: [UInt64: UInt64] = [:]
    var acked: Set<UInt64> = []
    var lastDelivery: [UInt64: UInt32] = [:]
    var allowanceBase: [UInt64: UInt32] = [:]
    var firstCopy: [String: (offset: UInt64, atMillis: UInt64)] = [:]
    var violations: [String] = []
    var deliveries = 0, deadLettered = 0, duplicates = 0

    init(seed: UInt64, fifo: Bool) {
        rng = SeededRandom(seed: seed)
        gen = ValueGenerator(rng: SeededRandom(seed: seed &+ 1))
        var s = QueueSettings()
        s.partitions = 4
        s.maxDeliveries = 3
        s.fifoPerKey = fifo
        s.maxLength = 4 * 120
        s.redeliveryBackoffMillis = 200
        s.maxRedeliveryBackoffMillis = 1_000
        settings = s
        let p = try! MemoryPartition(partition: PartitionID(queue: queue("q"), index: 1), incarnation: 3, settings: s, bodies: MemoryBodyStore())
        replicas = [p, p, p]
    }

    var clock: UInt64 { replicas[0].clockMillis }

    mutating func step() {
        now += UInt64(rng.below(600))
        let stamp = rng.below(20) == 0 ? now - UInt64(rng.below(2_000)) : now
        let command = nextCommand()
        index += 1
        let encoded = QueueCodec.encode(QueueEntry(nowMillis: stamp, command: command))
        let replies = (0..<replicas.count).map { replicas[$0].apply(encoded: encoded, index: index) }
        if replies.contains(where: { $0 != replies[0] }) { violations.append("replicas replied differently at \(index)") }
        let digests = replicas.map { $0.digest() }
        if Set(digests).count != 1 { violations.append("replicas diverged at \(index)") }
        if case .redrive = command {
            // Which dead letters a redrive returns depends on the leases its own clock step
            // ends, so the run reads the fresh allowances off the records afterwards.
            for (offset, r) in replicas[0].records where r.allowanceBase > (allowanceBase[offset] ?? 0) {
                allowanceBase[offset] = r.allowanceBase
            }
        }
        observe(command, replies[0])
        if index % 250 == 0 {
            do {
                replicas[2] = try MemoryPartition(snapshot: replicas[2].snapshot(), bodies: MemoryBodyStore())
            } catch {
                violations.append("at \(index) the snapshot was refused: \(error)")
            }
        }
        if index % 50 == 0 {
            violations += replicas[0].invariantViolations().map { "at \(index): \($0)" }
        }
    }

    /// Consumers that ack everything, with leases run out and dead letters redriven, must
    /// empty the partition: no message is stranded (a FIFO key that never comes free).
    mutating func drain() -> Int {
        var remaining = replicas[0].stats.messages
        for _ in 0..<2_000 where remaining > 0 {
            now += 5_000
            index += 1
            let entry = QueueEntry(nowMillis: now, command: .fetch(consumer: consumer("drain"), maxMessages: 50, maxBytes: 0, visibilityMillis: 0))
            var reply = replicas[0].apply(entry, index: index)
            if case let .delivered(list) = reply, !list.isEmpty {
                for d in list { observeDelivery(d) }
                index += 1
                reply = replicas[0].apply(QueueEntry(nowMillis: now, command: .ack(list.map(\.receipt))), index: index)
                observe(.ack(list.map(\.receipt)), reply)
            } else {
                index += 1
                _ = replicas[0].apply(QueueEntry(nowMillis: now, command: .redrive(maxMessages: 1_000)), index: index)
                for (offset, r) in replicas[0].records { allowanceBase[offset] = r.allowanceBase }
            }
            remaining = replicas[0].stats.messages
        }
        return remaining
    }

    mutating func nextCommand() -> QueueCommand {
        let roll = rng.below(100)
        switch roll {
        case 0..<30:
            let messages = (0..<(1 + rng.below(4))).map { _ in
                OutgoingMessage(body: gen.body(), key: rng.below(3) == 0 ? nil : key("k\(rng.below(5))"),
                                producerID: rng.below(2) == 0 ? pid("p\(rng.below(40))") : nil)
            }
            return .publish(messages)
        case 30..<55:
            return .fetch(consumer: consumer("c\(rng.below(3))"), maxMessages: 1 + rng.below(6), maxBytes: rng.below(4) == 0 ? 30 : 0,
                          visibilityMillis: UInt64(rng.below(3) == 0 ? 0 : 300 + rng.below(3_000)))
        case 55..<72: return .ack(pickLeases())
        case 72..<82: return .nack(pickLeases(), delayMillis: UInt64(rng.below(3) == 0 ? 0 : rng.below(2_000)), deadLetter: rng.below(10) == 0)
        case 82..<88: return .extend(pickLeases(), millis: UInt64(1 + rng.below(3_000)))
        case 88..<95: return .tick
        case 95..<97: return .redrive(maxMessages: 1 + rng.below(5))
        case 97..<99: return .dropDeadLetters(replicas[0].deadLetters(limit: 3).map(\.origin.offset) + [UInt64(rng.below(500))])
        default: return .purge(rng.below(4) == 0 ? .all : .deadLetters)
        }
    }

    /// Some receipts consumers hold, sometimes a stale or made-up one.
    mutating func pickLeases() -> [LeaseReceipt] {
        var out: [LeaseReceipt] = []
        for _ in 0..<(1 + rng.below(3)) where !leases.isEmpty { out.append(leases.remove(at: rng.below(leases.count))) }
        if rng.below(8) == 0 { out.append(LeaseReceipt(offset: UInt64(rng.below(600)), delivery: UInt32(rng.below(4)))) }
        return out
    }

    mutating func observe(_ command: QueueCommand, _ reply: QueueReply) {
        switch (command, reply) {
        case let (.publish(messages), .published(outcomes)):
            for (m, outcome) in zip(messages, outcomes) { observePublish(m, outcome) }
        case let (.fetch, .delivered(list)):
            for d in list { observeDelivery(d) }
        case let (.ack(receipts), .settled(outcomes)):
            for (r, o) in zip(receipts, outcomes) where o == .acked {
                acked.insert(r.offset)
                leaseDeadline[r.offset] = nil
            }
        case let (.nack(receipts, _, _), .settled(outcomes)):
            for (r, o) in zip(receipts, outcomes) where o != .leaseLost && o != .notFound {
                leaseDeadline[r.offset] = nil
                if case .deadLettered = o { deadLettered += 1 }
            }
        case let (.extend(receipts, _), .settled(outcomes)):
            for (r, o) in zip(receipts, outcomes) {
                if case let .extended(deadline) = o { leaseDeadline[r.offset] = deadline; leases.append(r) }
            }
        default:
            break
        }
        // A message that used its last delivery and whose lease ran out is a dead letter.
        for (offset, last) in lastDelivery where last &- (allowanceBase[offset] ?? 0) == UInt32(settings.maxDeliveries) {
            guard let deadline = leaseDeadline[offset], deadline <= clock, let r = replicas[0].records[offset] else { continue }
            if !r.isDead { violations.append("offset \(offset) out of deliveries but \(r.state)") }
        }
    }

    mutating func observePublish(_ m: OutgoingMessage, _ outcome: PublishOutcome) {
        let windowOpen: (offset: UInt64, atMillis: UInt64)? = m.producerID.flatMap { id in
            firstCopy[id.text].flatMap { $0.atMillis + settings.dedupWindowMillis > clock ? $0 : nil }
        }
        switch outcome {
        case let .stored(offset):
            if windowOpen != nil { violations.append("a second copy of \(m.producerID!) stored inside the window") }
            if acked.contains(offset) || lastDelivery[offset] != nil { violations.append("offset \(offset) reused") }
            if let id = m.producerID { firstCopy[id.text] = (offset, clock) }
        case let .duplicate(offset):
            duplicates += 1
            if windowOpen?.offset != offset { violations.append("duplicate of \(String(describing: m.producerID)) names \(offset), not the first copy") }
        case .refused:
            if windowOpen != nil { violations.append("a retry of a stored message refused") }
        }
    }

    mutating func observeDelivery(_ d: Delivery) {
        let offset = d.receipt.offset
        deliveries += 1
        if acked.contains(offset) { violations.append("acked offset \(offset) delivered again") }
        if let previous = lastDelivery[offset], d.receipt.delivery <= previous { violations.append("delivery count of \(offset) did not grow") }
        if let deadline = leaseDeadline[offset], deadline > clock { violations.append("\(offset) delivered while leased") }
        if d.receipt.delivery &- (allowanceBase[offset] ?? 0) > UInt32(settings.maxDeliveries) {
            violations.append("\(offset) delivered past max deliveries")
        }
        lastDelivery[offset] = d.receipt.delivery
        leaseDeadline[offset] = d.leaseDeadlineMillis
        leases.append(d.receipt)
        if leases.count > 200 { leases.removeFirst(leases.count - 200) }
    }
}

@Suite struct ReplicaTests {
    @Test(arguments: [(UInt64(1), false), (2, true), (3, false), (4, true)])
    func replicas_applyingRandomEntries_stayIdentical_andKeepTheQueuesPromises(_ seed: UInt64, _ fifo: Bool) {
        var run = ReplicaRun(seed: seed, fifo: fifo)
        for _ in 0..<2_000 { run.step() }
        #expect(run.violations.isEmpty, "seed \(seed): \(run.violations.prefix(5))")
        #expect(run.drain() == 0, "seed \(seed): messages stranded")
        #expect(run.violations.isEmpty, "seed \(seed) while draining: \(run.violations.prefix(5))")
        #expect(run.deliveries > 300 && run.duplicates > 10 && run.acked.count > 100, "the run exercised the queue")
        #expect(run.replicas[0].counters.deadLettered > 0 && run.replicas[0].counters.leasesExpired > 0)
    }

    /// Swift seeds its hash per process, so a pinned digest shows that no dictionary order
    /// reaches the state or the replies (run it with and without SWIFT_DETERMINISTIC_HASHING=1).
    @Test func aSeededRun_endsWithTheSameDigest_inEveryProcess() {
        var run = ReplicaRun(seed: 99, fifo: true)
        for _ in 0..<1_000 { run.step() }
        #expect(run.violations.isEmpty)
        #expect(run.replicas[0].digest() == 11_861_659_116_382_563_537)
    }
}
