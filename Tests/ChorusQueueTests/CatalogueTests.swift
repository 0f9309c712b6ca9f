import ChorusBase
import ChorusWire
import Testing
@testable import ChorusQueue

@Suite struct CatalogueTests {
    struct Log {
        var catalogue = QueueCatalogue(maxQueues: 4)
        var index: UInt64 = 0
        mutating func apply(_ c: CatalogueCommand) -> CatalogueReply {
            index += 1
            return catalogue.apply(encoded: CatalogueCodec.encode(CatalogueEntry(nowMillis: 100 * index, command: c)), index: index)
        }
        mutating func create(_ name: String, dlq: String? = nil, partitions: Int = 8) -> CatalogueReply {
            var s = QueueSettings()
            s.partitions = partitions
            s.deadLetterQueue = dlq.map(queue)
            return apply(.create(queue(name), s))
        }
    }

    @Test func createListAndDelete_keepQueuesInNameOrder_withTheirSettingsAndIncarnation() {
        var log = Log()
        guard case let .created(info) = log.create("orders") else { Issue.record("not created"); return }
        #expect(info.incarnation == 1 && info.createdAtMillis == 100)
        #expect(info.partitions.map(\.placementKey).prefix(2) == ["orders/0", "orders/1"])
        _ = log.create("audit", partitions: 2)
        #expect(log.catalogue.list().map(\.name.text) == ["audit", "orders"])
        #expect(log.apply(.delete(queue("orders"))) == .deleted(info))
        #expect(log.apply(.delete(queue("orders"))) == .notFound(queue("orders")))
        guard case let .created(again) = log.create("orders") else { Issue.record("not re-created"); return }
        #expect(again.incarnation == 5, "a new incarnation tells the new queue's partitions from the old")
    }

    @Test func aRetriedCreate_isExists_andACreateWithOtherSettings_isConflict() {
        var log = Log()
        guard case let .created(info) = log.create("orders") else { Issue.record("not created"); return }
        #expect(log.create("orders") == .exists(info))
        #expect(log.create("orders", partitions: 4) == .conflict(info))
    }

    @Test func aDeadLetterQueue_mustExist_andCannotBeDeletedWhileNamed() {
        var log = Log()
        #expect(log.create("orders", dlq: "orders-dlq") == .deadLetterQueueMissing(queue("orders-dlq")))
        #expect(log.create("self", dlq: "self") == .deadLetterQueueMissing(queue("self")))
        _ = log.create("orders-dlq")
        guard case .created = log.create("orders", dlq: "orders-dlq") else { Issue.record("not created"); return }
        #expect(log.apply(.delete(queue("orders-dlq"))) == .inUse(by: [queue("orders")]))
    }

    @Test func theCatalogue_refusesQueuesPastItsLimit() {
        var log = Log()
        for i in 0..<4 { _ = log.create("q\(i)") }
        #expect(log.create("q4") == .full(limit: 4))
    }

    @Test func aSnapshot_roundTrips_andMutatedOrInconsistentImages_areRefusedWithoutTrapping() throws {
        var log = Log()
        _ = log.create("dlq"); _ = log.create("orders", dlq: "dlq"); _ = log.create("x", partitions: 3)
        let image = CatalogueCodec.snapshot(log.catalogue)
        let restored = try CatalogueCodec.catalogue(snapshot: image)
        #expect(restored == log.catalogue)
        #expect(CatalogueCodec.snapshot(restored) == image)

        var gen = ValueGenerator(rng: SeededRandom(seed: 5))
        for _ in 0..<5_000 {
            guard let c = try? CatalogueCodec.catalogue(snapshot: gen.mutate(image)) else { continue }
            for q in c.list() { if let d = q.settings.deadLetterQueue { #expect(c.info(d) != nil && d != q.name) } }
        }
        var orphan = QueueCatalogue(maxQueues: 4)
        var s = QueueSettings(); s.deadLetterQueue = queue("gone")
        orphan.appliedIndex = 1
        orphan.queues[queue("a")] = QueueInfo(name: queue("a"), settings: s, incarnation: 1, createdAtMillis: 0)
        #expect(throws: WireError.self) { try CatalogueCodec.catalogue(snapshot: CatalogueCodec.snapshot(orphan)) }
    }

    @Test func undecodableCatalogueBytes_areInvalid() {
        var c = QueueCatalogue()
        guard case .invalid = c.apply(encoded: [1, 0, 7], index: 1) else { Issue.record("accepted"); return }
        #expect(c.appliedIndex == 1 && c.list().isEmpty)
    }
}
