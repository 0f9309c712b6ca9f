import ChorusBase

/// What the producers and consumers of a whole-node queue run observed, and the promises
/// checked against it: nothing acknowledged is lost, an acked message stays gone, a message's
/// delivery count only grows (no two deliveries share one); duplicates are counted.
struct NodeQueueHistory {
    /// Acknowledged publishes: message id → offsets it was stored at (two: stored twice).
    var acknowledged: [String: Set<UInt64>] = [:]
    /// Consumer acks that the partition confirmed: id → when.
    var acked: [String: Instant] = [:]
    /// Copies (partition, offset) whose ack the partition confirmed: the delivery acked, and when.
    var ackedCopies: [[UInt64]: (delivery: UInt64, at: Instant)] = [:]
    /// Deliveries seen: id → (partition/offset, delivery count) pairs.
    var seen: [String: Set<[UInt64]>] = [:]
    var deliveries = 0
    var duplicateDeliveries = 0
    var storedTwice = 0
    var violations: [String] = []

    mutating func acknowledge(_ id: String, offset: UInt64) {
        acknowledged[id, default: []].insert(offset)
    }

    mutating func delivered(_ id: String, partition: UInt16, offset: UInt64, delivery: UInt32, at now: Instant) {
        deliveries += 1
        let copy: [UInt64] = [UInt64(partition), offset]
        let key = copy + [UInt64(delivery)]
        if seen[id]?.contains(key) == true {
            violations.append("\(id) delivered twice with delivery count \(delivery) at \(partition)/\(offset): the count did not grow")
        }
        if let a = ackedCopies[copy], UInt64(delivery) > a.delivery {
            violations.append("\(id) acked at \(a.at) (\(partition)/\(offset) delivery \(a.delivery)) came back with delivery \(delivery) at \(now)")
        }
        if seen[id] != nil { duplicateDeliveries += 1 }
        seen[id, default: []].insert(key)
    }

    mutating func consumerAcked(_ id: String, partition: UInt16, offset: UInt64, delivery: UInt32, at now: Instant) {
        if acked[id] == nil { acked[id] = now }
        let copy: [UInt64] = [UInt64(partition), offset]
        if ackedCopies[copy] == nil { ackedCopies[copy] = (UInt64(delivery), now) }
    }

    var allAcknowledgedAcked: Bool { acknowledged.keys.allSatisfy { acked[$0] != nil } }
    var allAcknowledgedSeen: Bool { acknowledged.keys.allSatisfy { seen[$0] != nil } }

    mutating func finish() -> [String] {
        let lost = acknowledged.keys.filter { seen[$0] == nil }.sorted()
        storedTwice = seen.values.count { Set($0.map { [$0[0], $0[1]] }).count > 1 }
        var out = violations
        if !lost.isEmpty { out.append("\(lost.count) acknowledged publishes never delivered (lost), e.g. \(lost.prefix(5))") }
        return out
    }
}
