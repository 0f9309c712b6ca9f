import ChorusBase
import Testing
@testable import ChorusSim

/// Counts live instances, to prove the heap's bitwise moves neither leak nor double-free.
private final class Tracked {
    nonisolated(unsafe) static var live = 0
    let id: Int
    init(_ id: Int) { self.id = id; Tracked.live += 1 }
    deinit { Tracked.live -= 1 }
}

@Suite(.serialized) struct EventQueueTests {
    @Test(arguments: [1 as UInt64, 2, 3, 4, 5])
    func popsInSortedOrder_overRandomInput(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var queue = EventQueue<Int>()
        var reference: [(time: Int64, sequence: Int)] = []
        // Few distinct times, so many ties test the insertion-order rule.
        for i in 0..<2_000 {
            let time = Int64(rng.below(50))
            queue.push(i, at: Instant(nanoseconds: time))
            reference.append((time, i))
        }
        reference.sort { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
        var popped: [(time: Int64, sequence: Int)] = []
        while let next = queue.pop() { popped.append((next.time.nanoseconds, next.event)) }
        #expect(popped.map(\.time) == reference.map(\.time))
        #expect(popped.map(\.sequence) == reference.map(\.sequence))
    }

    @Test func interleavedPushAndPop_matchesReference() {
        var rng = SeededRandom(seed: 99)
        var queue = EventQueue<Int>()
        var reference: [(time: Int64, sequence: UInt64, value: Int)] = []
        var now: Int64 = 0
        var mismatches = 0
        for step in 0..<6_000 {
            if rng.below(3) != 0 || reference.isEmpty {
                let time = now + Int64(rng.below(1_000))
                let sequence = queue.push(step, at: Instant(nanoseconds: time))
                reference.append((time, sequence, step))
            } else {
                let index = reference.indices.min { (reference[$0].time, reference[$0].sequence) < (reference[$1].time, reference[$1].sequence) }!
                let expected = reference.remove(at: index)
                let got = queue.pop()!
                if got.event != expected.value || got.time.nanoseconds != expected.time || got.sequence != expected.sequence {
                    mismatches += 1
                }
                now = got.time.nanoseconds
            }
            if queue.count != reference.count { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Events stamped at creation pop in the same order whatever order they were pushed in
    /// (the simulator's lanes move packets between queues at window ends).
    @Test func explicitSequences_popInTheSameOrderWhateverThePushOrder() {
        var rng = SeededRandom(seed: 17)
        let events: [(time: Int64, sequence: UInt64)] = (0..<500).map { k in (Int64(rng.below(20)), UInt64(k) << 6 | UInt64(rng.below(4))) }
        var forward = EventQueue<Int>(), backward = EventQueue<Int>(), shuffled = EventQueue<Int>()
        for (k, e) in events.enumerated() { forward.push(k, at: Instant(nanoseconds: e.time), sequence: e.sequence) }
        for (k, e) in events.enumerated().reversed() { backward.push(k, at: Instant(nanoseconds: e.time), sequence: e.sequence) }
        var order = Array(events.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        for k in order { shuffled.push(k, at: Instant(nanoseconds: events[k].time), sequence: events[k].sequence) }
        var a: [Int] = [], b: [Int] = [], c: [Int] = []
        while let x = forward.pop() { a.append(x.event) }
        while let x = backward.pop() { b.append(x.event) }
        while let x = shuffled.pop() { c.append(x.event) }
        #expect(a == b && b == c && a.count == 500)
        let keys = a.map { (events[$0].time, events[$0].sequence) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func equalTimes_popInInsertionOrder() {
        var queue = EventQueue<String>()
        for name in ["a", "b", "c", "d"] { queue.push(name, at: .zero) }
        queue.push("early", at: Instant(nanoseconds: -1))
        #expect(queue.peek()?.event == "early")
        #expect(queue.nextTime == Instant(nanoseconds: -1))
        var order: [String] = []
        while let next = queue.pop() { order.append(next.event) }
        #expect(order == ["early", "a", "b", "c", "d"])
        #expect(queue.isEmpty && queue.pop() == nil && queue.peek() == nil && queue.nextTime == nil)
        #expect(queue.pushedCount == 5)
    }

    @Test func referencePayloads_areReleasedExactlyOnce() {
        Tracked.live = 0
        do {
            var rng = SeededRandom(seed: 5)
            var queue = EventQueue<Tracked>(minimumCapacity: 16)
            var seen: [Int] = []
            for i in 0..<500 { queue.push(Tracked(i), at: Instant(nanoseconds: Int64(rng.below(100)))) }
            for _ in 0..<250 { seen.append(queue.pop()!.event.id) }
            #expect(Tracked.live == 250)
            var copy = queue  // copy-on-write: both must stay intact
            _ = copy.pop()
            #expect(queue.count == 250 && copy.count == 249)
            queue.removeAll()
            #expect(queue.isEmpty)
            #expect(Set(seen).count == 250)
        }
        #expect(Tracked.live == 0)
    }
}
