import ChorusBase

/// SWIM's randomized round-robin probe order (SWIM §4.3): every member is probed once per
/// round, in an order reshuffled each round, which bounds the time to first detection.
/// Members that join mid-round are placed at a random point of the rest of the round.
/// Invariant: `position <= order.count`.
struct ProbeSchedule {
    private var order: [Int32] = []
    private var position = 0
    var capacity: Int { order.capacity }

    /// The next member to probe, or nil when there is no one to probe.
    mutating func next(table: MemberTable, local: Int32, rng: inout SeededRandom) -> Int32? {
        for pass in 0..<2 {
            while position < order.count {
                let slot = order[position]
                position += 1
                if slot != local && Int(slot) < table.slotCount {
                    let r = table[slot]
                    if !r.isFree && r.status.isLive { return slot }
                }
            }
            if pass == 0 { reshuffle(table: table, local: local, rng: &rng) }
        }
        return nil
    }

    /// Adds a member that became live during the round at a random place among those not yet probed.
    mutating func insert(_ slot: Int32, rng: inout SeededRandom) {
        order.append(slot)
        let remaining = order.count - position
        if remaining > 1 {
            let j = position + rng.below(remaining)
            order.swapAt(j, order.count - 1)
        }
    }

    private mutating func reshuffle(table: MemberTable, local: Int32, rng: inout SeededRandom) {
        order.removeAll(keepingCapacity: true)
        for s in 0..<table.slotCount {
            let slot = Int32(s)
            let r = table[slot]
            if slot != local && !r.isFree && r.status.isLive { order.append(slot) }
        }
        // Fisher–Yates with the injected generator (never the system one).
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, rng.below(i + 1))
            }
        }
        position = 0
    }
}
