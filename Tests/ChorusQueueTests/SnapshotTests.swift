import ChorusBase
import ChorusWire
import Testing
@testable import ChorusQueue

@Suite struct SnapshotTests {
    /// A partition with messages in every state, history, an origin, FIFO holders and ids.
    static func busy(fifo: Bool = true) -> TestPartition {
        var t = TestPartition { $0.fifoPerKey = fifo; $0.maxDeliveries = 2 }
        t.publish("a1", key: "a", id: "pa")
        t.publish("a2", key: "a")
        t.publish("b1", "b2", key: "b")
        t.publish("plain", id: "pp")
        t.publish([OutgoingMessage(body: bytes("moved"), origin: DeadLetterOrigin(
            partition: PartitionID(queue: queue("src"), index: 2), offset: 9, reason: .rejected, deliveries: 1,
            failures: [DeliveryFailure(delivery: 1, kind: .nacked, atMillis: 5, consumer: consumer("x"))]))])
        let first = t.fetch(10, visibility: 2_000)     // a1, b1, plain, moved
        _ = t.nack([first[1]], delay: 5_000)            // b1 delayed, holds b
        _ = t.nack([first[2]], deadLetter: true)        // plain dead, rejected
        t.advance(2_000)
        t.tick()                                        // a1 and moved: leases ran out
        t.advance(1_000)
        _ = t.fetch(1)                                  // a1 again (its 2nd, last delivery)
        return t
    }

    @Test func aSnapshot_restores_anEqualPartition_thatGoesOnApplyingIdentically() throws {
        var t = SnapshotTests.busy()
        let image = t.partition.snapshot()
        var copy = t
        copy.partition = try MemoryPartition(snapshot: image, bodies: MemoryBodyStore())
        #expect(copy.partition.snapshot() == image)
        #expect(copy.partition.invariantViolations().isEmpty)
        #expect(copy.partition.stats == t.partition.stats)
        #expect(copy.partition.nextDeadlineMillis == t.partition.nextDeadlineMillis)
        for step in 0..<6 {
            t.advance(1_500); copy.advance(1_500)
            let command: QueueCommand = step % 2 == 0 ? .fetch(consumer: consumer("z"), maxMessages: 3, maxBytes: 0, visibilityMillis: 0)
                                                      : .ack([LeaseReceipt(offset: UInt64(step), delivery: 1)])
            #expect(t.apply(command) == copy.apply(command))
        }
        #expect(t.partition.digest() == copy.partition.digest())
    }

    @Test func anExternalBodiesImage_restoresOverTheSameBodyStore_andIsRefusedOverOneThatLacksABody() throws {
        let t = SnapshotTests.busy()
        let image = t.partition.snapshot(bodies: .external)
        #expect(image.count < t.partition.snapshot().count)
        let restored = try MemoryPartition(snapshot: image, bodies: t.partition.bodies)
        #expect(restored.snapshot() == t.partition.snapshot())
        #expect(restored.invariantViolations().isEmpty)
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: image, bodies: MemoryBodyStore()) }
        var resized = t.partition.bodies
        resized.put([1, 2, 3, 4, 5, 6, 7], at: 1)
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: image, bodies: resized) }
    }

    @Test func theImage_isTheSame_whateverOrderTheStateWasBuiltIn() throws {
        var a = TestPartition(), b = TestPartition()
        a.publish("x", "y", "z")
        b.publish("x", "y", "z")
        let da = a.fetch(3), db = b.fetch(3)
        _ = a.ack([da[2]]); _ = a.ack([da[0]])
        _ = b.ack([db[0]]); _ = b.ack([db[2]])
        a.tick(); b.tick()
        #expect(a.partition.snapshot() == b.partition.snapshot())
    }

    @Test func truncatedTrailingAndForeignImages_areRefused() {
        let image = SnapshotTests.busy().partition.snapshot()
        for cut in [0, 1, 3, image.count / 2, image.count - 1] {
            #expect(throws: WireError.self) { try MemoryPartition(snapshot: Array(image[..<cut]), bodies: MemoryBodyStore()) }
        }
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: image + [0], bodies: MemoryBodyStore()) }
        var magic = image; magic[0] ^= 0xFF
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: magic, bodies: MemoryBodyStore()) }
        let catalogue = CatalogueCodec.snapshot(QueueCatalogue())
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: catalogue, bodies: MemoryBodyStore()) }
    }

    /// 30,000 mutated images: none traps; every accepted one keeps the invariants and is a
    /// fixed point of encoding.
    @Test func mutatedImages_neverTrap_andOnlyConsistentOnesAreAccepted() {
        let images = [SnapshotTests.busy().partition.snapshot(), SnapshotTests.busy(fifo: false).partition.snapshot()]
        var gen = ValueGenerator(rng: SeededRandom(seed: 7))
        var accepted = 0
        for round in 0..<30_000 {
            let bytes = gen.mutate(images[round % 2])
            guard let p = try? MemoryPartition(snapshot: bytes, bodies: MemoryBodyStore()) else { continue }
            accepted += 1
            #expect(p.invariantViolations().isEmpty, "\(p.invariantViolations())")
            let again = p.snapshot()
            #expect((try? MemoryPartition(snapshot: again, bodies: MemoryBodyStore()))?.snapshot() == again)
        }
        #expect(accepted > 0, "some mutations (a body byte, a time) keep an image consistent")
    }

    @Test(arguments: ["two holders of one key", "a delay ending before the clock", "a dead letter short of its deliveries"])
    func anImageBreakingARule_isRefused(_ rule: String) throws {
        var t = TestPartition { $0.fifoPerKey = true; $0.maxDeliveries = 3 }
        t.publish("k1", "k2", key: "k")
        _ = t.nack(t.fetch(1), deadLetter: true)
        _ = t.fetch(1)
        var p = t.partition
        switch rule {
        case "two holders of one key":
            p.records[1]?.state = .leased(consumer: consumer("c"), deadlineMillis: t.now + 10)
        case "a delay ending before the clock":
            p.records[2]?.state = .delayed(untilMillis: t.now - 1)
        default:
            p.records[1]?.state = .dead(.maxDeliveries, atMillis: t.now)
        }
        #expect(throws: WireError.self) { try MemoryPartition(snapshot: p.snapshot(), bodies: MemoryBodyStore()) }
    }
}
