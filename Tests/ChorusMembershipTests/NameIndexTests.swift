import Testing
import ChorusBase
@testable import ChorusMembership

@Suite struct NameIndexTests {
    /// Random inserts and removals agree with a Dictionary reference at every step.
    @Test func agreesWithDictionaryUnderChurn() {
        var rng = SeededRandom(seed: 11)
        var names: [Int32: String] = [:]
        var index = NameIndex(seed: 5)
        var reference: [String: Int32] = [:]
        var nextSlot: Int32 = 0
        var present: [String] = []
        for step in 0..<20_000 {
            if rng.below(3) > 0 || reference.isEmpty {
                let name = "m\(rng.below(3000))"
                if reference[name] == nil {
                    present.append(name)
                    index.insert(name, slot: nextSlot)
                    names[nextSlot] = name
                    reference[name] = nextSlot
                    nextSlot += 1
                }
            } else {
                let name = present.remove(at: rng.below(present.count))
                index.remove(name, slot: reference[name]!)
                reference[name] = nil
            }
            if step % 500 == 0 {
                for i in 0..<3000 {
                    let name = "m\(i)"
                    #expect(index.find(name) { names[$0]! } == reference[name])
                }
            }
        }
        #expect(index.count == reference.count)
    }
}

@Suite struct MemberRecordLayoutTests {
    /// Large simulated clusters hold ~10⁸ records: keep one within a cache line.
    @Test func recordFitsSixtyFourBytes() {
        #expect(MemoryLayout<MemberRecord>.stride <= 64)
    }
    @Test func packedAddressesRoundTrip() {
        for text in ["10.1.2.3:7946", "[fd00::1]:65535", "0.0.0.0:0"] {
            let e = Endpoint(parsing: text)!
            #expect(PackedEndpoint(e).endpoint == e)
        }
    }
}
