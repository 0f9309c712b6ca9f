import ChorusBase
import ChorusWire
import Testing
@testable import ChorusCache

@Suite struct CodecTests {
    @Test func everyMessageKind_roundTrips() throws {
        var gen = MessageGenerator(rng: SeededRandom(seed: 1))
        var kinds = Set<UInt8>()
        for _ in 0..<5_000 {
            let message = gen.message()
            let bytes = CacheCodec.encode(message)
            kinds.insert(bytes[1])
            #expect(try CacheCodec.decode(bytes) == message)
        }
        #expect(kinds == Set(1...14))
    }

    @Test func decoder_onOneHundredTwentyThousandRandomAndMutatedInputs_neverTraps_andAcceptedInputsReencodeStably() {
        var gen = MessageGenerator(rng: SeededRandom(seed: 2))
        var rng = SeededRandom(seed: 3)
        var accepted = 0
        for round in 0..<120_000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<rng.below(48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if rng.below(2) == 0 && !bytes.isEmpty { bytes[0] = CacheCodec.version }
                if rng.below(2) == 0 && bytes.count > 1 { bytes[1] = UInt8(1 + rng.below(15)) }
            } else {
                bytes = CacheCodec.encode(gen.message())
                for _ in 0..<(1 + rng.below(3)) where !bytes.isEmpty {
                    switch rng.below(5) {
                    case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
                    case 2: bytes.remove(at: rng.below(bytes.count))
                    case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
                    default: bytes = Array(bytes[..<rng.below(bytes.count + 1)])
                    }
                }
            }
            guard let message = try? CacheCodec.decode(bytes) else { continue }
            accepted += 1
            // Overlong varints decode, so the bytes may differ; the message may not.
            let again = CacheCodec.encode(message)
            if (try? CacheCodec.decode(again)) != message { Issue.record("unstable: \(bytes)") }
        }
        #expect(accepted > 1_000)
    }

    @Test func decoder_refusesWrongVersionUnknownKindLongKeyAndUncarriedValue() {
        let good = CacheCodec.encode(.nack(key: CacheKey("k"), tag: RequestTag(incarnation: 1, sequence: 2)))
        var wrongVersion = good; wrongVersion[0] = 2
        var unknownKind = good; unknownKind[1] = 15
        #expect(throws: WireError.self) { try CacheCodec.decode(wrongVersion) }
        #expect(throws: WireError.self) { try CacheCodec.decode(unknownKind) }
        #expect(throws: WireError.self) { try CacheCodec.decode(good + [0]) }

        let longKey = CacheCodec.encode(.putS(key: CacheKey([UInt8](repeating: 1, count: CacheCodec.maxKeyBytes + 1)),
                                              grant: TxnID(epoch: 1, counter: 1)))
        #expect(throws: WireError.self) { try CacheCodec.decode(longKey) }

        var w = ByteWriter()
        w.u8(CacheCodec.version); w.u8(11); w.blob([7])
        w.varint(1); w.varint(1); w.varint(1); w.varint(1)   // tag, txn
        w.u8(Grant.shared.rawValue); w.varint(0); w.varint(0)
        w.u8(0)                                              // not carried …
        w.u8(1); w.blob([1, 2])                              // … yet present
        #expect(throws: WireError.self) { try CacheCodec.decode(w.bytes) }
    }
}
