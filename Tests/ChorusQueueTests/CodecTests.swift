import ChorusBase
import ChorusWire
import Testing
@testable import ChorusQueue

@Suite struct CodecTests {
    @Test func everyEntryKind_roundTrips() throws {
        var gen = ValueGenerator(rng: SeededRandom(seed: 1))
        var kinds = Set<QueueCodec.Kind.RawValue>()
        for _ in 0..<5_000 {
            let entry = gen.entry()
            let encoded = QueueCodec.encode(entry)
            let offset = 1 + ByteWriter.varintSize(entry.nowMillis)
            kinds.insert(encoded[offset])
            #expect(try QueueCodec.decodeEntry(encoded) == entry)
        }
        #expect(kinds == Set(1...9))
    }

    @Test func everyCatalogueEntry_roundTrips() throws {
        var gen = ValueGenerator(rng: SeededRandom(seed: 2))
        for _ in 0..<2_000 {
            let entry = gen.catalogueEntry()
            #expect(try CatalogueCodec.decodeEntry(CatalogueCodec.encode(entry)) == entry)
        }
    }

    /// 120,000 partition entries and 30,000 catalogue entries: a third pure noise (often with
    /// a valid version and kind in front), the rest mutated encodings of valid entries.
    @Test func theDecoders_on150000RandomAndMutatedInputs_neverTrap_andWhatTheyAcceptReencodesStably() {
        var gen = ValueGenerator(rng: SeededRandom(seed: 3))
        var accepted = 0
        for round in 0..<120_000 {
            let bytes = round % 3 == 0
                ? gen.noise(prefix: [QueueCodec.version, UInt8(gen.small(100)), UInt8(1 + gen.small(10))])
                : gen.mutate(QueueCodec.encode(gen.entry()))
            guard let entry = try? QueueCodec.decodeEntry(bytes) else { continue }
            accepted += 1
            #expect((try? QueueCodec.decodeEntry(QueueCodec.encode(entry))) == entry)
        }
        for round in 0..<30_000 {
            let bytes = round % 3 == 0
                ? gen.noise(prefix: [CatalogueCodec.version, 5, UInt8(1 + gen.small(2))])
                : gen.mutate(CatalogueCodec.encode(gen.catalogueEntry()))
            guard let entry = try? CatalogueCodec.decodeEntry(bytes) else { continue }
            accepted += 1
            #expect((try? CatalogueCodec.decodeEntry(CatalogueCodec.encode(entry))) == entry)
        }
        #expect(accepted > 5_000, "mutations of times and counts keep many entries valid")
    }

    @Test func replies_roundTrip_andTheirDecoders_onMutatedInputs_neverTrap() {
        var gen = ValueGenerator(rng: SeededRandom(seed: 4))
        for _ in 0..<3_000 {
            let reply = gen.reply(), catalogue = gen.catalogueReply()
            #expect((try? QueueCodec.decodeReply(QueueCodec.encode(reply))) == reply)
            #expect((try? QueueCodec.decodeCatalogueReply(QueueCodec.encode(catalogue))) == catalogue)
        }
        for _ in 0..<20_000 {
            if let r = try? QueueCodec.decodeReply(gen.mutate(QueueCodec.encode(gen.reply()))) {
                #expect((try? QueueCodec.decodeReply(QueueCodec.encode(r))) == r)
            }
            if let r = try? QueueCodec.decodeCatalogueReply(gen.mutate(QueueCodec.encode(gen.catalogueReply()))) {
                #expect((try? QueueCodec.decodeCatalogueReply(QueueCodec.encode(r))) == r)
            }
        }
    }

    @Test func theDecoder_refusesBadVersionKindFlagsScopeAndTrailingBytes() {
        let good = QueueCodec.encode(QueueEntry(nowMillis: 5, command: .nack([LeaseReceipt(offset: 1, delivery: 1)], delayMillis: 0, deadLetter: true)))
        #expect((try? QueueCodec.decodeEntry(good)) != nil)
        var version = good; version[0] = 2
        var kind = good; kind[2] = 42
        var flag = good; flag[good.count - 1] = 2
        let purge = QueueCodec.encode(QueueEntry(nowMillis: 5, command: .purge(.all)))
        var scope = purge; scope[3] = 4
        let publish = QueueCodec.encode(QueueEntry(nowMillis: 0, command: .publish([OutgoingMessage(body: [1])])))
        var flags = publish; flags[4] = 8
        for bad in [version, kind, flag, scope, flags, [], [1], good + [0]] {
            #expect(throws: WireError.self) { try QueueCodec.decodeEntry(bad) }
        }
    }

    @Test func aBodyOverTheCeiling_isRefusedBeforeItIsRead() {
        var w = ByteWriter()
        w.u8(QueueCodec.version); w.varint(0); w.u8(1); w.varint(1); w.u8(0)
        w.varint(UInt64(QueueSettings.messageBytesCeiling + 1))
        #expect(throws: WireError.self) { try QueueCodec.decodeEntry(w.bytes) }
    }

    @Test func undecodableBytes_areAnsweredInvalid_andOnlyAdvanceTheIndex() {
        var t = TestPartition()
        t.publish("a")
        let before = t.partition.stats
        guard case .invalid = t.partition.apply(encoded: [9, 9, 9], index: 2) else { Issue.record("accepted"); return }
        #expect(t.partition.appliedIndex == 2)
        #expect(t.partition.stats == before)
        #expect(t.partition.clockMillis == t.now)
    }
}
