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
